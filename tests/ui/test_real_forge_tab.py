"""The Task Queue tab inside a real Forge (needs FORGE_DIR; see tests/forge_env/SETUP.md).

Proves: the tab renders in Forge's page with Forge's scripts and theme; "Send to txt2img" fills
txt2img's fields through Forge's own paste; the progress bar moves and the live preview changes
while a queued task runs.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from tests.integration.forge_process import ForgeProcess, forge_dir, install_extension
from tests.ui.conftest import ARTIFACTS

pytestmark = [
    pytest.mark.forge,
    pytest.mark.skipif(not os.environ.get("FORGE_DIR"), reason="needs a real Forge (FORGE_DIR)"),
]

LOAD_TIMEOUT = 120_000  # Forge's page is large and the machine has two cores
RUN_TIMEOUT = 600_000  # first image includes loading the checkpoint on the CPU


@pytest.fixture(scope="module")
def forge(tmp_path_factory):
    root = forge_dir()
    install_extension(root)
    checkpoint = root / "models" / "Stable-diffusion" / "randA.safetensors"
    process = ForgeProcess(
        root, tmp_path_factory.mktemp("forge-ui"), {}, ["--ckpt", str(checkpoint)]
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def forge_page(forge, browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda r: r.abort())
    page = context.new_page()
    page.goto(forge.url, timeout=LOAD_TIMEOUT)
    expect(page.locator("#txt2img_prompt textarea")).to_be_visible(timeout=LOAD_TIMEOUT)
    yield page
    context.close()


def _open_tab(page) -> None:
    page.locator("#tabs > .tab-nav button", has_text="Task Queue").click()
    expect(page.locator("#task_scheduler_app .ts-app")).to_be_visible(timeout=LOAD_TIMEOUT)


def _enqueue(forge, **body) -> str:
    response = forge.api("POST", "/task-scheduler/queue/txt2img", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


def test_the_tab_renders_inside_forge(forge_page):
    _open_tab(forge_page)
    expect(forge_page.locator("#task_scheduler_app .ts-state")).to_have_text("Stopped")
    expect(forge_page.locator("#task_scheduler_app .ts-footer")).to_contain_text("Data folder:")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    forge_page.screenshot(path=str(ARTIFACTS / "forge-tab.png"))


BAR = "document.querySelector('#task_scheduler_app .ts-progress .ts-bar-fill')"
FAILED = "document.querySelector('#task_scheduler_app .ts-status-failed')"


def test_the_progress_bar_moves_while_a_queued_task_runs(forge, forge_page):
    page = forge_page
    page.locator("#tabs > .tab-nav button", has_text="Txt2img").click()
    prompt = page.locator("#txt2img_prompt textarea")
    prompt.fill(
        "a small red boat\nSteps: 40, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, "
        "Seed: 7, Size: 64x64"
    )
    page.locator("#tab_txt2img #paste").click()
    expect(page.locator("#txt2img_steps input[type=number]")).to_have_value("40")
    expect(prompt).to_have_value("a small red boat")
    page.locator("#task_scheduler_txt2img_queue").click()  # our Queue button beside Generate
    _open_tab(page)
    row = page.locator(".ts-rows > .ts-row", has_text="a small red boat")
    expect(row.locator(".ts-status-badge")).to_have_text("Pending")
    page.locator("#task_scheduler_app").get_by_role("button", name="Start", exact=True).click()
    page.wait_for_function(
        f"() => {{ const f = {BAR}; return (f && parseFloat(f.style.width) > 0) || {FAILED}; }}",
        timeout=RUN_TIMEOUT,
    )
    failed = page.locator("#task_scheduler_app .ts-status-failed").count()
    assert failed == 0, forge.tasks()[0].error
    first = page.evaluate(f"() => parseFloat({BAR}.style.width)")
    expect(page.locator("#task_scheduler_app .ts-progress-text")).to_contain_text("Step ")
    page.screenshot(path=str(ARTIFACTS / "forge-progress.png"))
    page.wait_for_function(
        f"(first) => {{ const f = {BAR}; return f && parseFloat(f.style.width) > first; }}",
        arg=first,
        timeout=RUN_TIMEOUT,
    )
    expect(row.locator(".ts-status-badge")).to_have_text("Completed", timeout=RUN_TIMEOUT)
    row.click()
    page.wait_for_function(
        "() => { const i = document.querySelector('#task_scheduler_app .ts-thumb img');"
        " return i && i.complete && i.naturalWidth === 64; }",
        timeout=LOAD_TIMEOUT,
    )
    page.locator("#task_scheduler_app").get_by_role("button", name="Stop", exact=True).click()


def test_send_to_txt2img_and_img2img_fill_their_fields(forge, forge_page):
    task_id = _enqueue(
        forge,
        prompt="a lighthouse on a cliff",
        negative_prompt="fog, blur",
        steps=7,
        cfg_scale=4.5,
        seed=4242,
        width=320,
        height=256,
        sampler_name="Euler",
        scheduler="Karras",
    )
    page = forge_page
    _open_tab(page)
    row = page.locator(".ts-rows > .ts-row", has_text="a lighthouse on a cliff")
    row.click()
    page.locator(".ts-detail-actions").get_by_role("button", name="Send to txt2img").click()
    expect(page.locator("#txt2img_prompt textarea")).to_be_visible()
    expect(page.locator("#txt2img_prompt textarea")).to_have_value("a lighthouse on a cliff")
    expect(page.locator("#txt2img_neg_prompt textarea")).to_have_value("fog, blur")
    expect(page.locator("#txt2img_steps input[type=number]")).to_have_value("7")
    expect(page.locator("#txt2img_cfg_scale input[type=number]")).to_have_value("4.5")
    expect(page.locator("#txt2img_width input[type=number]")).to_have_value("320")
    expect(page.locator("#txt2img_height input[type=number]")).to_have_value("256")
    expect(page.locator("#txt2img_seed input")).to_have_value("4242")
    expect(page.locator("#txt2img_sampling input")).to_have_value("Euler")
    expect(page.locator("#txt2img_scheduler input")).to_have_value("Karras")
    page.screenshot(path=str(ARTIFACTS / "forge-sent-to-txt2img.png"))
    _open_tab(page)
    page.locator(".ts-detail-actions").get_by_role("button", name="Send to img2img").click()
    expect(page.locator("#img2img_prompt textarea")).to_be_visible()
    expect(page.locator("#img2img_prompt textarea")).to_have_value("a lighthouse on a cliff")
    expect(page.locator("#img2img_steps input[type=number]")).to_have_value("7")
    expect(page.locator("#img2img_seed input")).to_have_value("4242")
    forge.api("DELETE", f"/task-scheduler/tasks/{task_id}")


PREVIEW = "#task_scheduler_app .ts-preview"


def test_the_live_preview_changes_while_a_queued_task_runs(forge, forge_page):
    # Forge's own preview settings: a new preview every sampling step, the cheap method (no
    # model to load). The tab shows what Forge's progress route would.
    options = {"live_previews_enable": True, "show_progress_every_n_steps": 1}
    response = forge.api(
        "POST", "/sdapi/v1/options", json={**options, "show_progress_type": "Approx cheap"}
    )
    assert response.status_code == 200, response.text
    page = forge_page
    _open_tab(page)
    # Every different image the preview shows, as the page sees it.
    page.evaluate(
        f"""() => {{
        window.tsPreviews = [];
        const record = () => {{
            const img = document.querySelector('{PREVIEW}');
            if (img && !img.hidden && img.src && !window.tsPreviews.includes(img.src))
                window.tsPreviews.push(img.src);
        }};
        new MutationObserver(record).observe(document.querySelector('#task_scheduler_app'),
            {{subtree: true, attributes: true, attributeFilter: ['src', 'hidden']}});
    }}"""
    )
    task_id = _enqueue(forge, prompt="a windmill at dusk", steps=30, width=64, height=64, seed=3)
    page.locator("#task_scheduler_app").get_by_role("button", name="Start", exact=True).click()
    page.wait_for_function("() => window.tsPreviews.length >= 2", timeout=RUN_TIMEOUT)
    sources = page.evaluate("() => window.tsPreviews")
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    page.screenshot(path=str(ARTIFACTS / "forge-live-preview.png"))
    # Seen enough: cancel rather than wait (the machine may be slow); the preview goes with it.
    forge.api("POST", f"/task-scheduler/queue/{task_id}/cancel")
    row = page.locator(".ts-rows > .ts-row", has_text="a windmill at dusk")
    expect(row.locator(".ts-status-badge")).to_have_text(
        re.compile("Cancelled|Completed"), timeout=RUN_TIMEOUT
    )
    expect(page.locator(PREVIEW)).to_be_hidden()
    page.locator("#task_scheduler_app").get_by_role("button", name="Stop", exact=True).click()
    forge.api("DELETE", f"/task-scheduler/tasks/{task_id}")
