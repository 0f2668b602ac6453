"""The Task Queue tab (Forge-free): `create_tab(services)` builds it as a Gradio Blocks."""

from .tab import API_NAMES, ELEM_ID, create_tab

__all__ = ["API_NAMES", "ELEM_ID", "create_tab"]
