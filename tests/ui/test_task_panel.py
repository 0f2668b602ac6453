"""The selected-task panel in a real browser: every setting of the task, its extensions,
its result images at full size, and inline editing with validation messages."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.app import ui_params, wait_until


def _fields(screen) -> dict[str, str]:
    panel = screen.page.locator(".ts-fields")
    expect(panel).to_be_visible()
    terms = panel.locator("dt").all_inner_texts()
    values = panel.locator("dd").all_inner_texts()
    return dict(zip(terms, values, strict=True))


def test_the_panel_shows_every_setting_hires_and_extension_arguments(screen):
    app = screen.app
    params, script_args = ui_params(
        "a lighthouse at dusk",
        negative="blurry",
        steps=28,
        seed=77,
        cfg_scale=5.5,
        width=768,
        height=512,
        sampler="DPM++ 2M",
        scheduler="Karras",
    )
    params["inputs"].update(enable_hr=True, hr_scale=2, hr_upscaler="Latent", n_iter=2)
    script_args["scripts"]["ADetailer"] = [True, {"ad_model": "face_yolov8n.pt"}]
    script_args["scripts"]["Empty script"] = []
    app.queue.add_task(
        "txt2img",
        params,
        script_args=script_args,
        name="Lighthouse",
        checkpoint="randB.safetensors [bbbb2222]",
        warnings=["ControlNet unit 2 had no image"],
    )
    screen.open()
    screen.row("a lighthouse at dusk").click()
    fields = _fields(screen)
    assert fields["Prompt"] == "a lighthouse at dusk"
    assert fields["Negative prompt"] == "blurry"
    assert fields["Steps"] == "28"
    assert fields["CFG scale"] == "5.5"
    assert fields["Size"] == "768x512"
    assert fields["Sampler"] == "DPM++ 2M"
    assert fields["Scheduler"] == "Karras"
    assert fields["Seed"] == "77"
    assert fields["Checkpoint"] == "randB.safetensors [bbbb2222]"
    assert fields["Batch"] == "2 batches of 1"
    assert "hr_scale: 2" in fields["Hires"]
    assert "hr_upscaler: Latent" in fields["Hires"]
    expect(screen.page.locator(".ts-detail-title")).to_have_text("Lighthouse")
    extensions = screen.page.locator(".ts-extension")
    expect(extensions).to_have_count(1)
    expect(extensions.locator("summary")).to_have_text("ADetailer")
    extensions.locator("summary").click()
    expect(extensions.locator("pre")).to_contain_text("face_yolov8n.pt")
    expect(screen.page.locator(".ts-warnings li")).to_have_text(["ControlNet unit 2 had no image"])
    screen.shot("panel-pending")


def test_result_images_show_as_thumbnails_and_open_full_size(screen):
    app = screen.app
    task = app.add("an orange cat", seed=42)
    app.executor.start()
    wait_until(lambda: app.queue.get_task(task.id).status.value == "completed")
    app.executor.stop()
    screen.open()
    screen.row("an orange cat").click()
    thumb = screen.page.locator(".ts-thumb img")
    expect(thumb).to_have_count(1)
    expect(thumb).to_have_attribute("alt", "Seed 42")
    wait_until(lambda: thumb.evaluate("img => img.complete && img.naturalWidth") == 8)
    assert _fields(screen)["Result seeds"] == "42"
    screen.page.get_by_role("button", name="Open image 1 full size").click()
    full = screen.page.locator(".ts-lightbox-image")
    expect(full).to_be_visible()
    wait_until(lambda: full.evaluate("img => img.complete && img.naturalWidth") == 8)
    expect(screen.page.locator(".ts-lightbox-caption")).to_contain_text("Seed 42")
    screen.shot("lightbox")
    screen.page.keyboard.press("Escape")
    expect(full).to_have_count(0)


def test_inline_edit_saves_a_pending_task(screen):
    app = screen.app
    task = app.add("a plain house", steps=10)
    screen.open()
    screen.row("a plain house").get_by_role("button", name="Edit").click()
    form = screen.page.get_by_role("form", name="Edit task")
    form.get_by_label("Prompt", exact=True).fill("a haunted house")
    form.get_by_label("Negative prompt").fill("daylight")
    form.get_by_label("Steps").fill("24")
    form.get_by_label("Seed (-1 for random)").fill("1234")
    form.get_by_label("CFG scale").fill("4.5")
    form.get_by_label("Width").fill("640")
    form.get_by_label("Sampler").select_option("DPM++ 2M")
    form.get_by_label("Scheduler").select_option("Karras")
    form.get_by_label("Checkpoint").select_option("randA.safetensors [aaaa1111]")
    form.get_by_label("Name").fill("Spooky")
    form.get_by_label("Priority (lower runs first)").fill("-1")
    screen.shot("editing")
    form.get_by_role("button", name="Save").click()
    expect(form).to_have_count(0)
    expect(screen.row("a haunted house").locator(".ts-name")).to_have_text("Spooky")
    fields = _fields(screen)
    assert fields["Prompt"] == "a haunted house"
    assert fields["Steps"] == "24"
    assert fields["Sampler"] == "DPM++ 2M"
    saved = app.queue.get_task(task.id)
    assert saved.name == "Spooky"
    assert saved.priority == -1
    assert saved.checkpoint == "randA.safetensors [aaaa1111]"
    assert saved.params["inputs"]["prompt"] == "a haunted house"
    assert saved.params["inputs"]["cfg_scale"] == 4.5
    assert saved.params["inputs"]["width"] == 640
    assert saved.script_args["scripts"]["Sampler"] == [24, "DPM++ 2M", "Karras"]
    assert saved.script_args["scripts"]["Seed"][0] == 1234


def test_inline_edit_explains_bad_values_and_stores_nothing(screen):
    app = screen.app
    task = app.add("a tidy room", steps=10)
    screen.open()
    screen.row("a tidy room").click()
    screen.page.locator(".ts-detail-actions").get_by_role("button", name="Edit").click()
    form = screen.page.get_by_role("form", name="Edit task")
    form.get_by_label("Steps").fill("ten")
    form.get_by_role("button", name="Save").click()
    expect(form.locator("#ts-error-steps")).to_have_text("must be a whole number")
    expect(form.get_by_label("Steps")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Steps").fill("0")
    form.get_by_role("button", name="Save").click()
    expect(form.locator("#ts-error-steps")).to_have_text("must be between 1 and 1000")
    form.get_by_label("Steps").fill("12")
    form.get_by_label("Width").fill("-5")
    form.get_by_role("button", name="Save").click()
    expect(form.locator("#ts-error-width")).to_have_text("must be between 8 and 16384")
    expect(form.locator("#ts-error-steps")).to_have_text("")
    screen.shot("edit-validation")
    assert app.queue.get_task(task.id).script_args["scripts"]["Sampler"][0] == 10
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_have_count(0)
    assert _fields(screen)["Steps"] == "10"


def test_an_edit_in_progress_survives_refreshes_and_learns_when_the_task_starts(screen):
    app = screen.app
    app.gate.clear()
    app.add("to be edited")
    screen.open()
    screen.row("to be edited").get_by_role("button", name="Edit").click()
    form = screen.page.get_by_role("form", name="Edit task")
    form.get_by_label("Prompt", exact=True).fill("half-typed words")
    app.add("another task arrives")  # the queue changes under the editor
    expect(screen.row("another task arrives")).to_have_count(1)
    expect(form.get_by_label("Prompt", exact=True)).to_have_value("half-typed words")
    app.executor.start()  # the edited task starts running
    expect(form.locator(".ts-edit-banner")).to_have_text(
        "This task is now running; it can no longer be edited."
    )
    expect(form.get_by_role("button", name="Save")).to_be_disabled()
    expect(form.get_by_label("Prompt", exact=True)).to_have_value("half-typed words")
    app.gate.set()
