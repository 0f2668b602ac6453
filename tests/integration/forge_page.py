"""Driving Forge's own txt2img / img2img pages in Chromium, as a user would."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from .forge_process import ForgeProcess, wait_until

GENERATE_TIMEOUT_MS = 900_000


class ForgePage:
    def __init__(self, page: Page, forge: ForgeProcess):
        self.page = page
        self.forge = forge

    def open(self) -> ForgePage:
        self.page.goto(self.forge.url, timeout=300_000)
        expect(self.page.locator("#task_scheduler_txt2img_queue")).to_be_visible(timeout=300_000)
        expect(self.page.locator("#txt2img_generate")).to_be_visible()
        return self

    # -- navigation ------------------------------------------------------------------------

    def tab(self, tab: str) -> None:
        self.page.locator("#tabs > .tab-nav button", has_text=tab).first.click()
        expect(self.page.locator(f"#{tab}_generate")).to_be_visible()

    def img2img_mode(self, label: str) -> None:
        button = self.page.locator("#mode_img2img > .tab-nav button", has_text=label).first
        button.click()
        expect(button).to_have_class(re.compile(r"\bselected\b"))

    # -- settings --------------------------------------------------------------------------

    def paste_parameters(self, tab: str, infotext: str) -> None:
        """Set the tab's fields the way "Read generation parameters" does from an infotext."""
        self.page.locator(f"#{tab}_prompt textarea").fill(infotext)
        self.page.locator(f"#{tab}_tools #paste").click()
        prompt = infotext.split("\n", 1)[0]
        expect(self.page.locator(f"#{tab}_prompt textarea")).to_have_value(prompt)

    def upload_canvas(self, elem_id: str, image: Path) -> None:
        """Upload an image into a ForgeCanvas (img2img, sketch, inpaint)."""
        canvas = self.page.locator(f"#{elem_id}")
        canvas.locator("input.forge-file-upload").set_input_files(str(image))
        wait_until(
            lambda: (canvas.locator("img.forge-image").get_attribute("src") or "").startswith(
                "data:"
            ),
            60,
            f"the image to show in #{elem_id}",
        )

    def upload_image(self, elem_id: str, image: Path) -> None:
        """Upload an image into a Gradio Image component (inpaint upload base / mask)."""
        component = self.page.locator(f"#{elem_id}")
        component.locator("input[type=file]").set_input_files(str(image))
        expect(component.locator("img")).to_be_visible(timeout=60_000)

    def pick(self, dropdown: str, option: str) -> None:
        """Choose the first option containing `option` in a Gradio dropdown (a CSS selector)."""
        box = self.page.locator(f"{dropdown} input").first
        box.click()
        box.fill(option)
        self.page.locator("ul.options li", has_text=option).first.click()
        expect(box).to_have_value(re.compile(re.escape(option)))

    def select_checkpoint(self, name: str) -> None:
        """Pick a checkpoint in the top bar and wait until Forge has taken it."""
        self.pick(".model_selection", name)
        wait_until(
            lambda: str(self.forge.option("sd_model_checkpoint")).startswith(name),
            120,
            f"Forge's checkpoint option to become {name}",
        )

    # -- the two buttons -------------------------------------------------------------------

    def generate(self, tab: str, marker: str, count: int = 1) -> tuple[str, list[Path]]:
        """Press Generate and wait; return the infotext shown and the `count` files it saved."""
        outdir = self.forge.outputs / tab
        before = set(outdir.rglob("*.png")) if outdir.exists() else set()
        self.page.locator(f"#{tab}_generate").click()
        info = self.page.locator(f"#html_info_{tab}")
        expect(info).to_contain_text(marker, timeout=GENERATE_TIMEOUT_MS)
        expect(self.page.locator(f"#{tab}_interrupt")).to_be_hidden(timeout=GENERATE_TIMEOUT_MS)
        saved = sorted(set(outdir.rglob("*.png")) - before)
        assert len(saved) == count, f"Generate saved {saved}"
        return info.inner_text().strip(), saved

    def draw(self, elem_id: str, points: list[tuple[float, float]]) -> None:
        """Draw one stroke on a ForgeCanvas, points given as fractions of the image area."""
        canvas = self.page.locator(f"#{elem_id} img.forge-image")
        box = canvas.bounding_box()
        assert box is not None, f"#{elem_id} shows no image"
        mouse = self.page.mouse
        x0, y0 = points[0]
        mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        mouse.down()
        for x, y in points[1:]:
            mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        mouse.up()

    def queue(self, tab: str) -> tuple[str, str]:
        """Press Queue; return the confirmation text and the id of the task it stored."""
        known = {task.id for task in self.forge.tasks()}
        started = time.time()
        self.page.locator(f"#task_scheduler_{tab}_queue").click()
        toast = self.page.locator(".toast-body", has_text="Queued").last
        expect(toast).to_be_visible(timeout=60_000)
        text = toast.inner_text()
        toast.locator(".toast-close").click()
        new = wait_until(
            lambda: [t for t in self.forge.tasks() if t.id not in known],
            30,
            "the queued task in the database",
        )
        assert len(new) == 1
        assert new[0].created_at >= started - 1
        return text, new[0].id
