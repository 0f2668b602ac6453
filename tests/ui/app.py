"""A small Gradio app that mounts the real Task Queue tab over a real queue and the fake host.

Used by the browser tests and by hand (`python -m tests.ui.app`). The page gets the tab's
JavaScript and style.css the way Forge gives them (in the page head), and the REST API's routes
when the API module is present.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import socket
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.files import FileStore
from task_scheduler.core.live_preview import LivePreview
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.core.services import Catalog, Services, Settings
from task_scheduler.ui import create_tab
from tests.fakes import FakeHost

ROOT = Path(__file__).resolve().parents[2]
CATALOG = Catalog(
    samplers=["Euler a", "Euler", "DPM++ 2M"],
    schedulers=["Automatic", "Karras", "Exponential"],
    checkpoints=["randA.safetensors [aaaa1111]", "randB.safetensors [bbbb2222]"],
    upscalers=["Latent", "None"],
    scripts={"txt2img": [], "img2img": []},
)


def front_end_head() -> str:
    """The tab's scripts, inline, in the order Forge would load them (by file name)."""
    scripts = sorted((ROOT / "javascript").glob("task_scheduler*.js"))
    return "\n".join(f"<script>{path.read_text(encoding='utf-8')}</script>" for path in scripts)


def ui_params(
    prompt: str,
    *,
    negative: str = "",
    steps: int = 3,
    seed: int = -1,
    cfg_scale: float = 7.0,
    width: int = 512,
    height: int = 512,
    sampler: str = "Euler a",
    scheduler: str = "Automatic",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params, script_args) shaped like a task captured by the Queue button."""
    params = {
        "source": "ui",
        "inputs": {
            "prompt": prompt,
            "negative_prompt": negative,
            "cfg_scale": cfg_scale,
            "width": width,
            "height": height,
            "batch_size": 1,
            "n_iter": 1,
        },
    }
    script_args = {
        "selected": None,
        "scripts": {"Sampler": [steps, sampler, scheduler], "Seed": [seed, False, -1, 0, 0, 0]},
    }
    return params, script_args


class TabApp:
    """The tab over a queue in `data_dir`, served on 127.0.0.1 (call `launch`, then `close`)."""

    def __init__(
        self,
        data_dir: Path,
        step_seconds: float = 0.05,
        auth: tuple | None = None,
        api_credentials: dict[str, str] | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.auth = auth  # Gradio login, as Forge's --gradio-auth sets it
        self.api_credentials = api_credentials  # REST Basic auth, as Forge's --api-auth sets it
        self.queue = QueueManager(self.data_dir / "tasks.sqlite3", files_dir=self.data_dir / "in")
        self.gate = threading.Event()
        self.gate.set()
        self.host = FakeHost(step_seconds, output_dir=str(self.data_dir / "out"), gate=self.gate)
        self.executor = TaskExecutor(self.queue, self.host)
        self.executor.launch()
        self.settings = Settings(data_dir=str(self.data_dir))
        self.services = Services(
            queue=self.queue,
            executor=self.executor,
            files=FileStore(self.data_dir / "in"),
            settings=lambda: self.settings,
            catalog=lambda: CATALOG,
            live_preview=self._live_preview,
        )
        self.preview_requests = 0  # how often the tab asked for a preview
        self.demo = self._build()
        self.url = ""

    def _build(self) -> gr.Blocks:
        theme = gr.themes.Default(font=["sans-serif"], font_mono=["monospace"])  # no web fonts
        css = (ROOT / "style.css").read_text(encoding="utf-8")
        tab = create_tab(self.services)  # built outside any Blocks, as in Forge's on_ui_tabs
        blocks = gr.Blocks(title="Task Queue test app", theme=theme, css=css, head=front_end_head())
        with blocks as demo, gr.Tabs():
            with gr.Tab("Task Queue", id="task_scheduler", elem_id="tab_task_scheduler"):
                tab.render()
            with gr.Tab("Other", id="other", elem_id="tab_other"):
                gr.Markdown("Another tab.")
        return demo

    def launch(self) -> str:
        port = _free_port()
        self.demo.queue()
        self.demo.launch(
            server_name="127.0.0.1",
            server_port=port,
            prevent_thread_lock=True,
            auth=self.auth,
            quiet=True,
            show_api=False,
            show_error=True,
        )
        self._mount_api()
        self.url = f"http://127.0.0.1:{port}/"
        return self.url

    def _mount_api(self) -> None:
        """The REST API on the same server, as Forge's entry mounts it (when it exists)."""
        try:
            from task_scheduler.api import app as api
        except ImportError:
            return
        api.mount(self.demo.app, self.services, self.api_credentials)

    def add(self, prompt: str, **fields: Any):
        options = {k: fields.pop(k) for k in list(fields) if k in _PARAM_OPTIONS}
        params, script_args = ui_params(prompt, **options)
        return self.queue.add_task("txt2img", params, script_args=script_args, **fields)

    def _live_preview(self, seen: int) -> LivePreview | None:
        """The fake host's live preview: a new image at each step of the running task (its
        colour follows the step), as Forge makes one every few sampling steps."""
        self.preview_requests += 1
        current = self.executor.current()
        if current is None:
            return None
        step = current.progress.step
        if step == seen:
            return LivePreview(step, "")
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), (step * 37 % 256, 90, 160)).save(buffer, format="PNG")
        return LivePreview(
            step, "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        )

    def reset(self, **settings: Any) -> None:
        """Stop the worker, empty the queue and set settings (between tests)."""
        self.executor.stop()
        self.gate.set()
        for task in self.queue.list_tasks(statuses=["running"]).tasks:
            self.queue.cancel_task(task.id)
        wait_until(lambda: self.executor.current() is None)
        with self.queue.store.transaction() as conn:
            conn.execute("DELETE FROM tasks")
        self.queue._notify("deleted", "*")
        self.executor.session_done = 0
        self.settings = replace(Settings(data_dir=str(self.data_dir)), **settings)

    def close(self) -> None:
        try:
            from task_scheduler.api import app as api

            api.shutdown(self.services)
        except ImportError:
            pass
        self.demo.close()
        self.executor.shutdown(timeout=10, interrupt=True)
        self.queue.close()


_PARAM_OPTIONS = ("negative", "steps", "seed", "cfg_scale", "width", "height", "sampler")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float = 30.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        done.wait(0.02)
    raise TimeoutError("condition not met")


if __name__ == "__main__":
    import tempfile

    logging.basicConfig(level=logging.INFO)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = TabApp(Path(tempfile.mkdtemp()), step_seconds=0.5)
    for n in range(30):
        app.add(f"a test prompt number {n}, highly detailed", steps=8)
    logging.getLogger("task_scheduler").info("test app at %s", app.launch())
    threading.Event().wait()
