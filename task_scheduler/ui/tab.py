"""The Task Queue tab's Gradio side: a mount point for the front end and three hidden calls.

The page itself is drawn by javascript/task_scheduler*.js into `#task_scheduler_app`. The
front end talks to the queue only through the Gradio events registered here, by their API
names (see API_NAMES), with `queue=False` so they answer at once even while Forge's Gradio
queue is busy generating. Each refuses cross-site and non-JSON calls (api/same_origin.py).
"""

from __future__ import annotations

import json
import logging

import gradio as gr

from ..api import same_origin
from ..core.services import Services
from ..store.faults import fault_of
from . import commands

log = logging.getLogger("task_scheduler")

ELEM_ID = "task_scheduler_app"
API_NAMES = {
    "poll": "task_scheduler_poll",
    "act": "task_scheduler_act",
    "open": "task_scheduler_open",
}
_MOUNT_HTML = (
    f'<div id="{ELEM_ID}" class="task-scheduler" data-api-poll="{API_NAMES["poll"]}" '
    f'data-api-act="{API_NAMES["act"]}" data-api-open="{API_NAMES["open"]}">'
    '<p class="ts-loading">Loading the task queue…</p></div>'
)


def create_tab(services: Services) -> gr.Blocks:
    """Build the tab (call inside Forge's `on_ui_tabs`, or in any Blocks to mount it).

    The front end (javascript/task_scheduler*.js and style.css) must be on the page: Forge
    loads an extension's javascript/ folder and style.css itself.
    """

    def poll(text: str, request: gr.Request) -> str:
        if refused := _cross_site(request):
            return refused
        user = _user(request)
        return _guard(lambda: commands.poll(services, text, user), services, polling=True)

    def act(text: str, request: gr.Request) -> str:
        if refused := _cross_site(request):
            return refused
        return _guard(lambda: commands.act(services, text, _user(request)), services)

    def open_task(text: str, request: gr.Request):
        if refused := _cross_site(request):
            return refused, []
        try:
            return commands.open_task(services, text, _user(request))
        except Exception as error:
            return _error_reply(error, services), []

    with gr.Blocks(analytics_enabled=False) as tab:
        gr.HTML(_MOUNT_HTML)
        with gr.Row(visible=False):
            request = gr.Textbox(show_label=False)
            reply = gr.Textbox(show_label=False)
            images = gr.Gallery(show_label=False, format="png")
            poll_button = gr.Button()
            act_button = gr.Button()
            open_button = gr.Button()
        events = (
            (poll_button, poll, [reply], "poll"),
            (act_button, act, [reply], "act"),
            (open_button, open_task, [reply, images], "open"),
        )
        for button, fn, outputs, name in events:
            button.click(
                fn=fn,
                inputs=[request],
                outputs=outputs,
                api_name=API_NAMES[name],
                queue=False,
                show_progress="hidden",
            )
    return tab


def _user(request: gr.Request | None) -> str | None:
    """The Gradio login of the request (--gradio-auth); None without one. The tasks' owner and
    whose rights apply (ui/owners.py)."""
    return getattr(request, "username", None) or None


def _cross_site(request: gr.Request | None) -> str | None:
    """An error reply for a cross-site or non-JSON call (api/same_origin.py), else None.

    Gradio's event routes are POSTs that a form or no-cors fetch on another site could send
    with the user's login cookie; the tab's own calls are same-origin JSON.
    """
    headers = getattr(request, "headers", None)
    if headers is None:  # called directly in Python, not over HTTP
        return None
    refused = same_origin.refusal("POST", headers)
    if refused is None:
        return None
    log.warning("task_scheduler tab: refused a call: %s", refused[1])
    return json.dumps({"ok": False, "error": f"Refused: {refused[1]}."})


def _guard(call, services: Services, polling: bool = False) -> str:
    try:
        return call()
    except Exception as error:
        fault = fault_of(error, services.queue.store.path)
        if fault is not None and polling:  # shown in place of the status, not as a toast
            return json.dumps({"status": None, "list": None, "unavailable": str(fault)})
        return _error_reply(error, services)


def _error_reply(error: Exception, services: Services) -> str:
    """The message the tab shows: a store fault's own (what, where, nothing stored)."""
    fault = fault_of(error, services.queue.store.path)
    if fault is not None:
        log.warning("task_scheduler tab: %s", fault)
        return json.dumps({"ok": False, "error": str(fault)})
    log.error("task_scheduler tab call failed", exc_info=error)
    message = str(error) if isinstance(error, ValueError) else "Internal error (see Forge's log)."
    return json.dumps({"ok": False, "error": message})
