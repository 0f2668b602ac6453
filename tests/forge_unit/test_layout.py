"""Reading a ScriptRunner's layout and its components' defaults (Forge's objects faked)."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from task_scheduler.forge.layout import component_default, current_layout, script_defaults


class FakeScript:
    def __init__(self, title, args_from, args_to):
        self._title = title
        self.args_from, self.args_to = args_from, args_to

    def title(self):
        return self._title


def runner_with(inputs, scripts, selectable=()):
    return SimpleNamespace(inputs=inputs, scripts=scripts, selectable_scripts=list(selectable))


def test_layout_takes_titles_slices_and_labels_from_the_runner():
    steps = gr.Slider(label="Sampling steps", value=20)
    sampler = gr.Dropdown(label="Sampling method", choices=["Euler", "DDIM"], value="Euler")
    plot = FakeScript("X/Y/Z plot", 3, 4)
    no_ui = FakeScript("Comments", 4, 4)
    runner = runner_with(
        [
            gr.Dropdown(choices=["None", "X/Y/Z plot"], value="None", type="index"),
            steps,
            sampler,
            gr.Textbox(label="X values"),
        ],
        [FakeScript("Sampler", 1, 3), plot, no_ui],
        selectable=[plot],
    )
    layout = current_layout(runner)
    assert [(s.title, s.args_from, s.args_to) for s in layout.slots] == [
        ("Sampler", 1, 3),
        ("X/Y/Z plot", 3, 4),
        ("Comments", 4, 4),
    ]
    assert layout.slots[0].labels == ("Sampling steps", "Sampling method")
    assert layout.selectable == ("X/Y/Z plot",)
    assert layout.size == 4


def test_a_script_whose_title_fails_is_named_by_its_file():
    broken = FakeScript("x", 1, 2)
    broken.title = lambda: 1 / 0
    broken.filename = "broken.py"
    layout = current_layout(runner_with([None, gr.Checkbox()], [broken]))
    assert layout.slots[0].title == "broken.py"


def test_defaults_are_what_handlers_receive_for_untouched_components():
    state_value = {"unit": [1, 2]}
    components = [
        gr.Dropdown(choices=["None", "A", "B"], value="None", type="index"),
        gr.Slider(value=7),
        gr.Checkbox(value=True),
        gr.State(state_value),
        gr.Radio(choices=["x", "y"], value="y", type="index"),
        None,
    ]
    assert script_defaults(runner_with(components, [])) == [0, 7, True, {"unit": [1, 2]}, 1, None]
    assert component_default(components[3]) is not state_value  # a copy, never shared
