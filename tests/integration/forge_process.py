"""Launching and driving a real Forge (CPU, random-weight checkpoints) for integration tests.

Each launch gets its own settings file (so the extension's data folder and Forge's output
folders are temporary), a free port on 127.0.0.1 and its own log. The extension is installed
into FORGE_DIR/extensions by a symlink to this repository.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from task_scheduler.core.models import Task
from task_scheduler.core.queue_manager import QueueManager

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "tests" / "forge_env" / "launch_forge.sh"
EXTENSION_NAME = "sd-webui-forge-task-scheduler"
READY_LINE = "Startup time:"
START_TIMEOUT = 900.0  # first start on a busy 2-core machine: imports, scripts, UI
TASK_TIMEOUT = 900.0
# Where tests/forge_env/setup_forge.sh builds the test Forge: beside this checkout. The forge
# tests still run only when FORGE_DIR is set (CI has no Forge); the default names the place.
DEFAULT_FORGE_DIR = REPO.parent / "forge"
DEFAULT_FORGE_VENV = REPO.parent / "forge-venv"


def forge_dir() -> Path | None:
    """The Forge checkout named by $FORGE_DIR (absolute), or None when it is not set."""
    value = os.environ.get("FORGE_DIR")
    return Path(value).resolve() if value else None


def forge_venv() -> Path:
    """$FORGE_VENV, else the virtualenv beside this checkout."""
    value = os.environ.get("FORGE_VENV")
    return Path(value).resolve() if value else DEFAULT_FORGE_VENV


def install_extension(forge: Path) -> None:
    """Symlink this repository into Forge's extensions folder (once)."""
    link = forge / "extensions" / EXTENSION_NAME
    if link.is_symlink() or link.exists():
        if link.resolve() != REPO.resolve():
            raise RuntimeError(f"{link} exists and is not this repository; remove it first")
        return
    link.symlink_to(REPO, target_is_directory=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.25
) -> Any:
    """Poll `condition` until it returns something truthy; fail naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class ForgeProcess:
    """One running Forge with the extension, in a folder of its own."""

    def __init__(self, forge: Path, root: Path, settings: dict[str, Any], args: list[str]):
        self.forge = forge
        self.root = root
        self.data_dir = root / "task_scheduler"
        self.outputs = root / "outputs"
        self.settings_file = root / "config.json"
        self.log_path = root / "forge.log"
        self.settings = {
            "task_scheduler_data_dir": str(self.data_dir),
            "outdir_txt2img_samples": str(self.outputs / "txt2img"),
            "outdir_img2img_samples": str(self.outputs / "img2img"),
            "outdir_txt2img_grids": str(self.outputs / "txt2img-grids"),
            "outdir_img2img_grids": str(self.outputs / "img2img-grids"),
            "outdir_save": str(self.outputs / "saved"),
            # Forge hides a gzip of the infotext in the alpha channel by default; gzip stamps
            # the current time, so even two Generate clicks differ there. Plain RGB PNGs keep
            # "identical pixels" a strict, meaningful check (the infotext is compared as text).
            "stealth_pnginfo_option": "None",
            "hires_fix_show_sampler": True,  # shows the hires checkpoint / sampler choices
            **settings,
        }
        self.args = args
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "tasks.sqlite3"

    def start(self, **settings: Any) -> ForgeProcess:
        """Launch (again, keeping the data folder) and wait until the UI and API answer."""
        self.settings.update(settings)
        self.root.mkdir(parents=True, exist_ok=True)
        if self.settings_file.exists():  # keep what Forge saved (top bar), apply our overrides
            saved = json.loads(self.settings_file.read_text())
            saved.update(self.settings)
            self.settings_file.write_text(json.dumps(saved))
        else:
            self.settings_file.write_text(json.dumps(self.settings))
        self.port = free_port()
        env = {
            **os.environ,
            "FORGE_DIR": str(self.forge),
            "FORGE_VENV": str(forge_venv()),
            "FORGE_PORT": str(self.port),
        }
        with open(self.log_path, "a") as log:
            log.write(f"\n===== launch on port {self.port} =====\n")
            log.flush()
            self.proc = subprocess.Popen(
                [
                    shutil.which("bash") or "/bin/bash",
                    str(LAUNCHER),
                    "--ui-settings-file",
                    str(self.settings_file),
                    "--ui-config-file",
                    str(self.root / "ui-config.json"),
                    *self.args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        offset = self.log_path.stat().st_size
        wait_until(
            lambda: self._started(offset), START_TIMEOUT, f"Forge to start ({self.log_path})"
        )
        return self

    def _started(self, offset: int) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"Forge exited with {self.proc.returncode}; see {self.log_path}")
        with open(self.log_path, errors="replace") as log:
            log.seek(max(offset - 200, 0))
            return READY_LINE in log.read()

    def stop(self) -> None:
        """End Forge (SIGTERM, then SIGKILL if it lingers) and wait for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(60)

    def kill(self) -> None:
        """SIGKILL, as a crash or power cut would end it."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    # -- the extension's state ---------------------------------------------------------------

    def tasks(self) -> list[Task]:
        """Every task, read from the extension's database file (as another process would)."""
        queue = QueueManager(self.db_path, recover=False)
        try:
            return queue.list_tasks(limit=1000).tasks
        finally:
            queue.close()

    def task(self, task_id: str) -> Task:
        queue = QueueManager(self.db_path, recover=False)
        try:
            return queue.require_task(task_id)
        finally:
            queue.close()

    def wait_finished(self, task_id: str, timeout: float = TASK_TIMEOUT) -> Task:
        def finished() -> Task | None:
            task = self.task(task_id)
            return task if task.is_finished else None

        return wait_until(finished, timeout, f"task {task_id} to finish", interval=0.5)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            return client.request(method, path, **kwargs)

    def option(self, key: str) -> Any:
        response = self.api("GET", "/sdapi/v1/options")
        response.raise_for_status()
        return response.json().get(key)
