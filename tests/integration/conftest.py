"""Real-Forge fixtures: skipped cleanly unless FORGE_DIR points at a Forge checkout.

Forge is launched by tests/forge_env/launch_forge.sh (CPU only, 127.0.0.1, a free port) with a
settings file of its own, so the extension's data folder and Forge's output folders are
temporary. See tests/forge_env/SETUP.md for building that Forge and its random checkpoints.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.register_assert_rewrite("tests.integration.identity")

from .forge_page import ForgePage  # noqa: E402
from .forge_process import (  # noqa: E402
    DEFAULT_FORGE_DIR,
    ForgeProcess,
    forge_dir,
    install_extension,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "integration"
NO_FORGE = (
    "FORGE_DIR is not set (needs a real Forge: tests/forge_env/setup_forge.sh builds one at "
    f"{DEFAULT_FORGE_DIR}, then FORGE_DIR={DEFAULT_FORGE_DIR})"
)


def pytest_collection_modifyitems(items):
    forge = forge_dir()
    for item in items:
        if "tests/integration/" not in str(item.fspath).replace(os.sep, "/"):
            continue
        item.add_marker(pytest.mark.forge)
        item.add_marker(pytest.mark.browser)
        if forge is None:
            item.add_marker(pytest.mark.skip(reason=NO_FORGE))
        elif not (forge / "launch.py").is_file():
            item.add_marker(pytest.mark.skip(reason=f"FORGE_DIR={forge} is not a Forge checkout"))


def on_checkpoint(name: str) -> dict[str, str]:
    """Settings that start Forge on a test checkpoint.

    Not `--ckpt`: with it, Forge resets its checkpoint option to that file on every page load
    (`sd_models.list_models`) without reloading the model, so the top bar and the loaded model
    disagree after a switch.
    """
    forge = forge_dir()
    assert forge is not None
    path = forge / "models" / "Stable-diffusion" / f"{name}.safetensors"
    if not path.is_file():
        pytest.fail(f"missing test checkpoint {path} (see tests/forge_env/SETUP.md)")
    return {"sd_model_checkpoint": path.name}


@pytest.fixture(scope="session")
def forge_root() -> Path:
    forge = forge_dir()
    assert forge is not None
    install_extension(forge)
    return forge


@pytest.fixture(scope="session")
def running_forge(forge_root, tmp_path_factory):
    """A Forge on checkpoint randA whose queue runs as soon as a task is queued."""
    forge = ForgeProcess(
        forge_root,
        tmp_path_factory.mktemp("forge"),
        {"task_scheduler_start_on_launch": True, **on_checkpoint("randA")},
        [],
    )
    try:
        yield forge.start()
    finally:
        forge.stop()


@pytest.fixture
def forge_factory(forge_root, tmp_path):
    """Build Forges that a test starts, kills and restarts itself (stopped afterwards)."""
    made: list[ForgeProcess] = []

    def make(settings: dict, args: list[str]) -> ForgeProcess:
        forge = ForgeProcess(forge_root, tmp_path / f"forge{len(made)}", settings, args)
        made.append(forge)
        return forge

    yield make
    for forge in made:
        forge.stop()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = context.new_page()
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@pytest.fixture
def forge_page(page, running_forge) -> ForgePage:
    """Forge's page, opened on the shared running Forge."""
    return ForgePage(page, running_forge).open()


@pytest.fixture(scope="session")
def pictures(tmp_path_factory) -> dict[str, Path]:
    """Small deterministic input images: two 64x64 pictures and a square inpaint mask."""
    folder = tmp_path_factory.mktemp("pictures")
    y, x = np.mgrid[0:64, 0:64]
    rgb = np.stack([x * 4, y * 4, (x + y) * 2], axis=-1).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(folder / "init.png")
    Image.fromarray(255 - rgb, "RGB").save(folder / "second.png")
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[16:48, 16:48] = 255
    Image.fromarray(mask, "L").convert("RGBA").save(folder / "mask.png")
    return {name: folder / f"{name}.png" for name in ("init", "second", "mask")}
