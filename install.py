"""Forge runs this file when it starts. The extension needs nothing beyond what Forge ships
(gradio, fastapi, pydantic, Pillow and the standard library), so it installs nothing."""
