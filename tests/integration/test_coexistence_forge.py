"""A real Forge with SachiraChin's sd-webui-forge-task-scheduler and Agent Scheduler installed
beside ours: ours loads, runs a queued task, and names both in the log, the tab and GET /queue.

The two extensions are cloned at set-up, at pinned commits, from the local mirrors of their
public repositories (FORGE_MIRROR, default /work/.mirror) into a Forge data folder of the test's
own (`--data-dir`, outside the project; checkpoints from FORGE_DIR's models folder). Their folder
names sort before ours, so their scripts and routes load first: the case that broke ours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .forge_process import REPO, ForgeProcess, forge_dir, wait_until

MIRROR = Path(os.environ.get("FORGE_MIRROR", "/work/.mirror"))
PEERS = {
    # folder name in extensions/ -> (mirror, pinned commit)
    "sd-webui-forge-task-scheduler": (
        "SachiraChin+sd-webui-forge-task-scheduler",
        "7cf52be40ed5f89932b4ae1f9044cd02faab9d49",
    ),
    "sd-webui-agent-scheduler": (
        "ArtVentureX+sd-webui-agent-scheduler",
        "a33753321b914c6122df96d1dc0b5117d38af680",
    ),
}
OURS = "sd-webui-forge-task-scheduler-queue"  # the peer took the repository's name first
LOAD_TIMEOUT = 300_000
TASK = {"prompt": "a lighthouse", "steps": 2, "width": 64, "height": 64, "seed": 1234}


def clone_peer(extensions: Path, folder: str) -> Path:
    """Clone one peer from its mirror at its pinned commit (skip when the mirror is absent)."""
    mirror, commit = PEERS[folder]
    source = MIRROR / mirror / "repo"
    if not source.is_dir():
        pytest.skip(f"no mirror of {mirror} at {source} (set FORGE_MIRROR)")
    target = extensions / folder
    git = shutil.which("git") or "git"
    subprocess.run([git, "clone", "-q", "--no-checkout", str(source), str(target)], check=True)
    subprocess.run([git, "-C", str(target), "checkout", "-q", commit], check=True)
    return target


@pytest.fixture(scope="module")
def forge_with_peers(tmp_path_factory):
    forge = forge_dir()
    assert forge is not None
    data = tmp_path_factory.mktemp("forge-data")
    extensions = data / "extensions"
    extensions.mkdir()
    peers = {folder: clone_peer(extensions, folder) for folder in PEERS}
    (extensions / OURS).symlink_to(REPO, target_is_directory=True)
    process = ForgeProcess(
        forge,
        tmp_path_factory.mktemp("forge-peers"),
        {"task_scheduler_start_on_launch": True, "sd_model_checkpoint": "randA.safetensors"},
        [
            "--data-dir",
            str(data),
            "--ckpt-dir",
            str(forge / "models" / "Stable-diffusion"),
        ],
    )
    process.peers = peers
    process.ours = extensions / OURS
    try:
        yield process.start()
    finally:
        process.stop()


def test_ours_loads_and_runs_a_task_beside_both_peers(forge_with_peers):
    forge = forge_with_peers
    log = forge.log_text()
    assert "No module named 'task_scheduler.forge'" not in log
    assert f'File "{forge.ours}' not in log  # no traceback from any file of ours

    queued = forge.api("POST", "/task-scheduler/queue/txt2img", json=TASK)
    assert queued.status_code == 201, queued.text
    task = forge.wait_finished(queued.json()["id"])
    assert task.status.value == "completed", task.error
    image = forge.api("GET", f"/task-scheduler/tasks/{task.id}/images/0")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"


def test_get_queue_is_ours_and_lists_both_peers_with_what_to_do(forge_with_peers):
    forge = forge_with_peers
    reply = forge.api("GET", "/task-scheduler/queue")

    assert reply.status_code == 200
    body = reply.json()
    assert body["worker"] in ("running", "stopped")  # our QueueOut, not the peer's answer
    conflicts = body["conflicts"]
    folders = {c["folder"] for c in conflicts}
    assert {str(path) for path in forge.peers.values()} <= folders
    assert all("Disable" in c["advice"] and "restart" in c["advice"] for c in conflicts)
    same_name = [c for c in conflicts if c["extension"] == "sd-webui-forge-task-scheduler"]
    whats = " | ".join(c["what"] for c in same_name)
    assert "package named 'task_scheduler'" in whats
    same_routes = whats.split("the same as ours: ", 1)[-1]  # its live routes, found at start
    assert "GET /task-scheduler/queue," in same_routes
    assert "POST /task-scheduler/queue/txt2img" in same_routes
    agent = [c for c in conflicts if c["extension"] == "sd-webui-agent-scheduler"]
    assert "API routes under /agent-scheduler/" in " | ".join(c["what"] for c in agent)


def test_the_peers_own_routes_still_answer(forge_with_peers):
    status = forge_with_peers.api("GET", "/task-scheduler/status")  # a route only it has

    assert status.status_code == 200
    assert "worker" not in status.json()


def test_forge_log_names_each_peer_and_what_to_do(forge_with_peers):
    forge = forge_with_peers
    log = forge.log_text()
    for folder in forge.peers.values():
        lines = [line for line in log.splitlines() if f"({folder})" in line]
        assert lines, f"no warning naming {folder}"
        assert all("CONFLICT with the extension" in line for line in lines)
        assert all("Disable" in line and "restart Forge" in line for line in lines)


def test_our_tab_shows_the_conflict_banner(forge_with_peers, browser):
    forge = forge_with_peers
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    try:
        page = context.new_page()
        page.goto(forge.url, timeout=LOAD_TIMEOUT)
        expect(page.locator("#txt2img_prompt textarea")).to_be_visible(timeout=LOAD_TIMEOUT)
        mount = page.locator("#task_scheduler_app")
        buttons = page.locator("#tabs > .tab-nav button", has_text="Task Queue")
        wait_until(lambda: buttons.count() >= 1, 60, "a Task Queue tab button")
        for index in range(buttons.count()):  # the peer's tab carries the same title
            buttons.nth(index).click()
            if mount.is_visible():
                break
        expect(page.locator("#task_scheduler_app .ts-app")).to_be_visible(timeout=LOAD_TIMEOUT)
        banner = page.locator("#task_scheduler_app .ts-conflicts")
        expect(banner).to_be_visible()
        for folder in forge.peers.values():
            expect(banner).to_contain_text(str(folder))
        expect(banner).to_contain_text("Disable")
        page.screenshot(path=str(forge.root / "tab.png"))
    finally:
        context.close()
