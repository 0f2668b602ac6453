"""In a real Forge and a real browser: Queue produces exactly the image Generate produces.

For each case the same settings are set once in the page; Generate runs, then Queue stores a
task that the (running) queue replays. The queued run must give the identical infotext, the
identical pixels, and save where Generate saved. img2img / inpaint rely on the test-only seed
script that launch_forge.sh installs (Forge's VAE encoder otherwise uses an unseeded RNG).
"""

from __future__ import annotations

from playwright.sync_api import expect

from task_scheduler.core.models import TaskStatus

from .identity import assert_queue_matches_generate

TXT2IMG = (
    "a red house by a lake\n"
    "Negative prompt: blurry, dark\n"
    "Steps: 2, Sampler: Euler, Schedule type: Karras, CFG scale: 6, Seed: 1234, Size: 64x64, "
    "Denoising strength: 0.6, Hires upscale: 1.5, Hires steps: 1, Hires upscaler: Latent, "
    "Hires sampler: Euler a"
)
IMG2IMG = (
    "a blue boat\n"
    "Negative prompt: text\n"
    "Steps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Seed: 99, Size: 64x64, "
    "Denoising strength: 0.6"
)
INPAINT = (
    "a green door\n"
    "Negative prompt: ugly\n"
    "Steps: 2, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 5, Seed: 77, Size: 64x64, "
    "Denoising strength: 0.75, Mask blur: 2"
)


def test_queued_txt2img_with_hires_fix_matches_generate_exactly(forge_page):
    forge_page.paste_parameters("txt2img", TXT2IMG)
    assert_queue_matches_generate(forge_page, "txt2img", "Seed: 1234")


def test_queued_txt2img_with_its_own_hires_checkpoint_matches_generate_exactly(forge_page):
    forge_page.select_checkpoint("randA")
    forge_page.paste_parameters("txt2img", TXT2IMG.replace("Seed: 1234", "Seed: 1236"))
    forge_page.pick("#hr_checkpoint", "randB")
    task = assert_queue_matches_generate(forge_page, "txt2img", "Seed: 1236")
    assert "Hires checkpoint: randB" in task.result_info
    assert "Model: randA," in task.result_info
    assert str(forge_page.forge.option("sd_model_checkpoint")).startswith("randA")


def test_queued_img2img_matches_generate_exactly(forge_page, pictures):
    forge_page.tab("img2img")
    forge_page.paste_parameters("img2img", IMG2IMG)  # (this also switches to the img2img mode)
    forge_page.img2img_mode("img2img")
    forge_page.upload_canvas("img2img_image", pictures["init"])
    assert_queue_matches_generate(forge_page, "img2img", "Seed: 99")


def test_queued_inpaint_upload_matches_generate_exactly(forge_page, pictures):
    forge_page.tab("img2img")
    forge_page.paste_parameters("img2img", INPAINT)  # first: pasting switches to img2img mode
    forge_page.img2img_mode("Inpaint upload")
    forge_page.upload_image("img_inpaint_base", pictures["init"])
    forge_page.upload_image("img_inpaint_mask", pictures["mask"])
    assert_queue_matches_generate(forge_page, "img2img", "Seed: 77")


def test_queue_works_while_generating_and_never_starts_a_generation(forge_page):
    page = forge_page.page
    forge_page.paste_parameters(
        "txt2img",
        "a slow one\nSteps: 12, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, "
        "Seed: 4321, Size: 64x64",
    )
    page.locator("#txt2img_generate").click()
    expect(page.locator("#txt2img_interrupt")).to_be_visible(timeout=60_000)

    message, task_id = forge_page.queue("txt2img")

    assert "Queued" in message
    expect(page.locator("#txt2img_interrupt")).to_be_visible()  # Generate is still running
    expect(page.locator("#html_info_txt2img")).to_contain_text("Seed: 4321", timeout=900_000)
    task = forge_page.forge.wait_finished(task_id)
    assert task.status == TaskStatus.COMPLETED, task.error

    forge_page.paste_parameters("txt2img", TXT2IMG.replace("Seed: 1234", "Seed: 5"))
    message, task_id = forge_page.queue("txt2img")
    expect(page.locator("#txt2img_generate")).to_be_visible()
    expect(page.locator("#txt2img_interrupt")).to_be_hidden()
    expect(page.locator("#txt2img_gallery_container .progressDiv")).to_have_count(0)
    forge_page.forge.wait_finished(task_id)
