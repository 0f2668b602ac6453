"""The Forge boundary: the only package that imports Forge's `modules` / `modules_forge`.

Modules here import Forge lazily (inside functions), so the pure parts (values, script_args,
capture, top_bar_rules) import and are unit-tested without Forge.
"""
