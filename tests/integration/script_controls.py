"""Setting an extension's own controls on Forge's page, as a user does: open its accordion (an
input accordion's header is also its on/off switch), type into slider boxes, tick checkboxes,
pick radio buttons and dropdown entries. Controls are found by their visible labels inside the
accordion, so the same helper drives any extension."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect


class ScriptControls:
    """One extension's accordion in the txt2img or img2img tab."""

    def __init__(self, page: Page, tab: str, title: str):
        self.page = page
        # The header button holds the label's span and an icon span ("▼").
        label = page.locator("span").filter(
            has_text=re.compile(r"^\s*" + re.escape(title) + r"\s*$")
        )
        self.header = page.locator(f"#tab_{tab} button.label-wrap").filter(has=label).first
        self.root = self.header.locator("xpath=..")

    def open(self) -> ScriptControls:
        """Open the accordion. For an input accordion (FreeU, PAG, SAG, Kohya HRFix, Refiner,
        soft inpainting) opening it is what turns the extension on."""
        self.header.scroll_into_view_if_needed()
        if "open" not in (self.header.get_attribute("class") or "").split():
            self.header.click()
        expect(self.header).to_have_class(re.compile(r"\bopen\b"))
        return self

    def enabled_by_header(self) -> ScriptControls:
        """Open an input accordion and check its header's checkbox is ticked."""
        self.open()
        expect(self.header.locator("input.input-accordion-checkbox")).to_be_checked()
        return self

    def slider(self, label: str, value: float) -> ScriptControls:
        box = self.root.get_by_label(f"number input for {label}", exact=True)
        box.fill(str(value))
        box.press("Tab")  # blur: Gradio clamps and commits the number
        expect(box).to_have_value(str(value))
        return self

    def check(self, label: str) -> ScriptControls:
        box = self.root.get_by_label(label, exact=True)
        box.check()
        expect(box).to_be_checked()
        return self

    def radio(self, label: str, choice: str) -> ScriptControls:
        group = self._block(label)
        button = group.get_by_label(choice, exact=True)
        button.check()
        expect(button).to_be_checked()
        return self

    def dropdown(self, label: str, option: str) -> ScriptControls:
        box = self._block(label).locator("input").first
        pick_exactly(self.page, box, option)
        return self

    def _block(self, label: str) -> Locator:
        """The innermost Gradio block whose own label is `label`."""
        caption = self.page.locator("[data-testid=block-info]").filter(
            has_text=re.compile(r"^\s*" + re.escape(label) + r"\s*$")
        )
        return self.root.locator("div.block, fieldset.block").filter(has=caption).last


def pick_exactly(page: Page, box: Locator, option: str) -> None:
    """Choose the dropdown entry whose text is exactly `option` (or starts with it and a
    space, as checkpoint titles do): 'Steps' must not pick 'Hires steps'."""
    box.click()
    box.fill(option)
    # Each entry starts with a check mark span ("✓", hidden unless selected).
    entry = re.compile(r"^\s*✓?\s*" + re.escape(option) + r"(\s|$)")
    page.locator("ul.options li").filter(has_text=entry).first.click()
    expect(box).to_have_value(re.compile(r"^" + re.escape(option) + r"(\s|$)"))


def set_number(page: Page, elem_id: str, value: float) -> None:
    """Set one of Forge's own sliders (batch size, CFG, steps) by its number box."""
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Tab")
    expect(box).to_have_value(str(value))
