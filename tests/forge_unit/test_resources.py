"""A task's named resources (LoRA tags, styles, embeddings, ControlNet models): recorded at
enqueue, checked before the task runs (task_scheduler/core/resources.py)."""

from __future__ import annotations

from task_scheduler.core.resources import (
    ForgeNow,
    TaskTexts,
    check,
    lora_names,
    mentions,
    snapshot,
    task_texts,
)

STYLES = {
    "appended": ("oil painting", "blurry"),
    "wrapping": ("a photo of {prompt}", "watermark"),
}


def now(loras=("randLora",), styles=None, embeddings=("randEmbed",), controlnets=None):
    return ForgeNow(
        lora_exists=lambda name: name in loras,
        styles=STYLES if styles is None else styles,
        embeddings=None if embeddings is None else set(embeddings),
        controlnet_exists=None if controlnets is None else (lambda m: m in controlnets),
    )


def ui_params(prompt="a house", negative="fog", styles=()):
    return {
        "source": "ui",
        "inputs": {"prompt": prompt, "negative_prompt": negative, "prompt_styles": list(styles)},
    }


def test_lora_names_are_read_from_tags_once_each_in_order():
    texts = ["a <lora:first:0.6> and <LORA:second> <lora:first:1> <hypernet:x:1>", "<lyco:third>"]
    assert lora_names(texts) == ["first", "second", "third"]


def test_an_embedding_is_mentioned_only_as_a_word_of_its_own():
    assert mentions(["fog, randEmbed"], "randEmbed")
    assert mentions(["(RANDEMBED:1.2)"], "randEmbed")
    assert not mentions(["randEmbedding"], "randEmbed")
    assert not mentions(["my-randEmbed"], "randEmbed")


def test_ui_and_api_tasks_name_their_prompts_styles_and_enabled_controlnet_models():
    unit = {"__ts_dataclass__": "ControlNetUnit", "fields": {"enabled": True, "model": "cn [1]"}}
    off = {"__ts_dataclass__": "ControlNetUnit", "fields": {"enabled": False, "model": "off"}}
    ui = task_texts(
        {**ui_params("p", "n", ["appended"]), "inputs": {"prompt": "p", "hr_prompt": "h"}},
        {"selected": None, "scripts": {"ControlNet": [unit, off]}},
    )
    assert ui == TaskTexts(prompts=["p", "h"], styles=[], controlnet_models=["cn [1]"])
    api = task_texts(
        {
            "source": "api",
            "payload": {
                "prompt": "p",
                "negative_prompt": "n",
                "styles": ["wrapping"],
                "alwayson_scripts": {
                    "controlnet": {"args": [{"model": "cn"}, {"model": "None"}, {"enabled": 0}]}
                },
            },
        },
        None,
    )
    assert api == TaskTexts(prompts=["p", "n"], styles=["wrapping"], controlnet_models=["cn"])


def test_snapshot_keeps_the_styles_text_and_the_known_embeddings_the_prompts_name():
    texts = task_texts(ui_params("a house", "fog, randEmbed", ["wrapping", "gone"]), None)
    recorded = snapshot(texts, STYLES, {"randEmbed", "otherEmbed"})
    assert recorded == {
        "styles": {"wrapping": ["a photo of {prompt}", "watermark"]},
        "embeddings": ["randEmbed"],
    }


def test_an_unchanged_task_has_no_finding():
    params = ui_params("a house <lora:randLora:0.6>", "fog, randEmbed", ["appended", "wrapping"])
    texts = task_texts(params, None)
    recorded = snapshot(texts, STYLES, {"randEmbed"})
    findings = check(texts, recorded, now(controlnets=()))
    assert (findings.errors, findings.warnings) == ([], [])


def test_a_missing_lora_fails_the_task_naming_it():
    texts = task_texts(ui_params("a house <lora:randLora:1> <lora:goneLora:0.5>"), None)
    findings = check(texts, snapshot(texts, STYLES, ()), now())
    assert len(findings.errors) == 1
    assert "LoRA 'goneLora'" in findings.errors[0]
    assert "not run" in findings.errors[0]


def test_a_lora_tag_in_a_style_is_checked_with_the_style_applied():
    styles = {"with lora": ("<lora:styleLora:1>", "")}
    texts = task_texts(ui_params(styles=["with lora"]), None)
    findings = check(texts, snapshot(texts, styles, ()), now(styles=styles))
    assert ["styleLora" in error for error in findings.errors] == [True]


def test_a_style_edited_or_deleted_after_queueing_is_a_warning_naming_it():
    texts = task_texts(ui_params(styles=["appended", "wrapping"]), None)
    recorded = snapshot(texts, STYLES, ())
    edited = {"appended": ("watercolour", "blurry")}  # "wrapping" deleted
    findings = check(texts, recorded, now(styles=edited))
    assert findings.errors == []
    assert len(findings.warnings) == 2
    assert "'appended' was edited after the task was queued" in findings.warnings[0]
    assert "'wrapping' no longer exists" in findings.warnings[1]


def test_a_style_unknown_when_queued_is_not_reported_again():
    texts = task_texts(ui_params(styles=["never existed"]), None)
    findings = check(texts, snapshot(texts, STYLES, ()), now())
    assert (findings.errors, findings.warnings) == ([], [])


def test_a_task_without_a_record_still_gets_missing_styles_and_loras_reported():
    texts = task_texts(ui_params("<lora:goneLora:1>", styles=["gone"]), None)
    findings = check(texts, None, now())
    assert len(findings.errors) == 1
    assert ["'gone' no longer exists" in w for w in findings.warnings] == [True]


def test_an_embedding_no_longer_loaded_is_a_warning_naming_it():
    texts = task_texts(ui_params("a house", "fog, randEmbed"), None)
    recorded = snapshot(texts, STYLES, {"randEmbed"})
    findings = check(texts, recorded, now(embeddings=()))
    assert findings.errors == []
    assert len(findings.warnings) == 1
    assert "embedding 'randEmbed'" in findings.warnings[0]
    assert "plain text" in findings.warnings[0]
    # Unknown loaded set (cannot tell): no guess.
    assert check(texts, recorded, now(embeddings=None)).warnings == []


def test_a_missing_controlnet_model_fails_the_task_naming_it():
    unit = {"__ts_dataclass__": "ControlNetUnit", "fields": {"enabled": True, "model": "cn [1]"}}
    texts = task_texts(ui_params(), {"scripts": {"ControlNet": [unit]}})
    findings = check(texts, None, now(controlnets=()))
    assert ["ControlNet model 'cn [1]'" in e for e in findings.errors] == [True]
    assert check(texts, None, now(controlnets=("cn [1]",))).errors == []
    assert check(texts, None, now(controlnets=None)).errors == []  # ControlNet not loaded
