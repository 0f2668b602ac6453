"""The Queue buttons beside Generate in txt2img and img2img.

Placement: when Forge creates a Generate button, its parent is the generate box (the row the
Interrupt / Skip overlay covers while generating). The Queue button is created right after that
box in whatever block the box ends up in: the actions column in the classic layout, the results
column in the compact prompt layout (where the box is rendered late).

Binding: no callback hands over Generate's inputs, so in `on_app_started` the Generate click is
found in `demo.fns` (the handler with Forge's `submit` / `submit_img2img` preprocessor) and the
Queue button gets a click with exactly the same inputs. Other handlers Generate triggers (e.g.
ControlNet refreshing its unit state, `queue=False`) are copied onto Queue first, in order.

Beside Queue sits a small menu button (Queue first, Queue for later..., Queue on several
checkpoints...: javascript/task_scheduler_queue_menu.js). The menu, Shift+click and the
Ctrl+Alt+Enter shortcut put their choices into a hidden input the Queue click also sends
(queue_options.py); Queue itself stays one click.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from ..api import same_origin
from .layout import TABS
from .queue_options import QueueOptions, parse

log = logging.getLogger("task_scheduler")

GENERATE_JS = {"txt2img": "submit", "img2img": "submit_img2img"}
BUTTON_LABEL = "Queue"
SHORTCUT = "Ctrl+Alt+Enter"  # Forge's Ctrl+Enter generates and Alt+Enter skips: see the JS
BUTTON_TOOLTIP = (
    "Add a task with these exact settings to the Task Queue (does not generate now). "
    f"Shortcut: {SHORTCUT}. Shift+click or Ctrl+Alt+Shift+Enter: queue first (runs next)."
)
MENU_LABEL = "\u25be"  # a small down-pointing triangle
MENU_TOOLTIP = "More ways to queue: first, for later, on several checkpoints"

# (tab, Generate's values after the task id, user name, menu options) -> confirmation text
Enqueue = Callable[[str, list[Any], "str | None", QueueOptions], str]


class QueueButtons:
    """Creates the Queue buttons while Forge builds its UI and binds them once it has started.

    One instance per UI build: Reload UI builds a new UI and a new instance.
    """

    def __init__(self, enqueue: Enqueue, require_room: Callable[[int], None] | None = None):
        self.enqueue = enqueue
        # raises (QueueFullError) when that many more pending tasks would pass the setting
        self.require_room = require_room
        self.buttons: dict[str, gr.Button] = {}
        self.options: dict[str, gr.Textbox] = {}  # tab -> the hidden input of menu choices
        self.generate_inputs: dict[str, list[Any]] = {}  # tab -> Generate's input components
        self._boxes: dict[str, Any] = {}  # tab -> generate box waiting to be placed

    # -- placement (script_callbacks.on_after_component / on_before_component) -------------

    def after_component(self, component: Any, **kwargs: Any) -> None:
        elem_id = kwargs.get("elem_id") or getattr(component, "elem_id", None)
        for tab in TABS:
            if elem_id == f"{tab}_generate" and tab not in self.buttons:
                box = getattr(component, "parent", None)
                if box is not None:
                    self._boxes[tab] = box

    def before_component(self, component: Any, **kwargs: Any) -> None:
        if not self._boxes:
            return
        from gradio.context import get_render_context

        block = get_render_context()
        children = getattr(block, "children", None) or []
        for tab, box in list(self._boxes.items()):
            if any(child is box for child in children):
                del self._boxes[tab]  # before creating: new blocks re-enter this callback
                self._create(tab)

    def _create(self, tab: str) -> None:
        with gr.Row(
            elem_id=f"task_scheduler_{tab}_queue_row",
            elem_classes=["task-scheduler-queue-row"],
            equal_height=True,
        ):
            self.buttons[tab] = gr.Button(
                BUTTON_LABEL,
                elem_id=f"task_scheduler_{tab}_queue",
                elem_classes=["task-scheduler-queue-button"],
                variant="secondary",
                tooltip=BUTTON_TOOLTIP,
                scale=1,
            )
            gr.Button(
                MENU_LABEL,
                elem_id=f"task_scheduler_{tab}_queue_menu",
                elem_classes=["task-scheduler-queue-menu-button"],
                variant="secondary",
                tooltip=MENU_TOOLTIP,
                scale=0,
                min_width=36,
            )
            self.options[tab] = gr.Textbox(
                visible=False, elem_id=f"task_scheduler_{tab}_queue_options"
            )

    # -- binding (script_callbacks.on_app_started) ----------------------------------------

    def bind(self, demo: Any) -> None:
        """Give each Queue button Generate's inputs and extra handlers."""
        registrations = []
        for tab in TABS:
            button = self.buttons.get(tab)
            if button is None:
                log.warning("task_scheduler: no Queue button was placed in %s", tab)
                continue
            found = _generate_handlers(demo, tab)
            if found is None:
                log.warning("task_scheduler: Generate's click not found in %s", tab)
                continue
            main, extras = found
            self.generate_inputs[tab] = list(main.inputs)
            registrations.append((tab, button, main, extras))
        if registrations:
            _register_after_launch(demo, lambda: self._register(registrations))

    def _register(self, registrations: list[tuple[str, Any, Any, list[Any]]]) -> None:
        for tab, button, main, extras in registrations:
            for handler in extras:
                button.click(
                    fn=handler.fn,
                    inputs=list(handler.inputs),
                    outputs=list(handler.outputs),
                    js=handler.js,
                    queue=handler.queue,
                    preprocess=handler.preprocess,
                    postprocess=handler.postprocess,
                    show_progress=handler.show_progress,
                )
            count = len(main.inputs)
            button.click(
                fn=self._handler(tab),
                inputs=[*main.inputs, self.options[tab]],
                outputs=[],
                js=queue_args_js(tab, count),
                show_progress="hidden",
            )

    def _handler(self, tab: str) -> Callable[..., None]:
        enqueue = self.enqueue
        require_room = self.require_room

        def queue_generate(id_task: str, request: gr.Request, *values: Any) -> None:
            """Store a task with Generate's values (the last value: the menu's options);
            never generates. Refuses a cross-site or non-JSON call (api/same_origin.py):
            Gradio's queue routes accept form posts."""
            refused = same_origin.refusal("POST", getattr(request, "headers", None) or {})
            if refused is not None:
                log.warning("task_scheduler: refused a %s Queue call: %s", tab, refused[1])
                raise gr.Error(f"Not queued: {refused[1]}")
            try:
                options = parse(values[-1] if values else None)
                if require_room is not None:  # before anything is captured or written
                    require_room(len(options.checkpoints) or 1)
                user = getattr(request, "username", None)
                message = enqueue(tab, list(values[:-1]), user, options)
            except (ValueError, LookupError, RuntimeError, OSError) as error:
                log.warning("task_scheduler: could not queue a %s task: %s", tab, error)
                raise gr.Error(f"Not queued: {error}") from error
            gr.Info(message)

        queue_generate.__name__ = f"task_scheduler_queue_{tab}"
        return queue_generate


def queue_args_js(tab: str, count: int) -> str:
    """The Queue click's preprocessor: Gradio passes the inputs then the outputs' values; keep
    Generate's `count` inputs, give the task-id slot a fresh id, and put the menu's choices
    for this click (JSON; '' for a plain click) in the last slot. Self-contained apart from
    reading our own namespace, so a missing menu script only loses the menu. Unlike Forge's
    submit(), it starts no progress bar."""
    return (
        f"(...args) => {{ const values = args.slice(0, {count}); "
        f"values[0] = 'task(queue-{tab}-' + Math.random().toString(36).slice(2, 10) + ')'; "
        "const ts = window.taskQueueExtensionForForge; "
        f"values.push(ts && ts.takeQueueOptions ? ts.takeQueueOptions('{tab}') : ''); "
        "return values; }"
    )


def _generate_handlers(demo: Any, tab: str) -> tuple[Any, list[Any]] | None:
    """Generate's main click handler and the other handlers on the same button, in order."""
    generate = next(
        (b for b in demo.blocks.values() if getattr(b, "elem_id", None) == f"{tab}_generate"),
        None,
    )
    if generate is None:
        return None
    handlers = [
        fn
        for _, fn in sorted(demo.fns.items())
        if any(target[0] == generate._id and target[1] == "click" for target in fn.targets)
    ]
    main = next((fn for fn in handlers if fn.js == GENERATE_JS[tab]), None)
    if main is None and handlers:
        main = max(handlers, key=lambda fn: len(fn.inputs))
    if main is None:
        return None
    return main, [fn for fn in handlers if fn is not main]


def _register_after_launch(demo: Any, register: Callable[[], None]) -> None:
    """Add event handlers to a launched Blocks and refresh the config pages are built from.

    Re-entering `with demo:` would re-attach every load event and replace `demo.app`; setting
    the root context alone is all that registering a handler needs.
    """
    from gradio.context import Context

    previous = Context.root_block
    Context.root_block = demo
    try:
        register()
    finally:
        Context.root_block = previous
    demo.config = demo.get_config_file()
