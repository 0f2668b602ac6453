"""A crash-safe task queue for Stable Diffusion WebUI Forge.

Everything in this package except the `forge` subpackage is plain Python: it imports and runs
without Forge.
"""
