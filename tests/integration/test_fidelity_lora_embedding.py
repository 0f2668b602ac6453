"""A LoRA by prompt tag (two weights) and a textual-inversion embedding in the negative prompt,
set by typing into Forge's own prompt boxes, then through the REST API: the queued task gives
the same pixels and infotext as Generate (or /sdapi/v1/txt2img), and the LoRA / embedding
changed the image (compared with the same prompt without them), else nothing is proven.

Uses the test assets of tests/forge_env/SETUP.md step 6 (randLora, randEmbed) in the test
Forge's default folders. Recorded for the README's fidelity table."""

from __future__ import annotations

import json

import pytest

from .fidelity import assert_changed, assert_queue_matches_generate_all, generate_all, samples
from .test_fidelity_api import BASE_BODY, assert_queue_matches_sdapi, decoded, mean_difference
from .test_fidelity_api import sdapi as sdapi_txt2img

BASE = "Steps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"
PROMPT = "a red house by a lake"


def paste(forge_page, prompt: str, negative: str, seed: int) -> None:
    forge_page.paste_parameters(
        "txt2img", f"{prompt}\nNegative prompt: {negative}\n{BASE}, Seed: {seed}"
    )


@pytest.mark.fidelity("LoRA (prompt tag)", "txt2img")
@pytest.mark.fidelity("Embedding (negative prompt)", "txt2img")
def test_lora_tag_at_two_weights_and_negative_embedding_replay_exactly(forge_page, fidelity_note):
    seed = 900
    paste(forge_page, PROMPT, "fog", seed)
    _info, plain = generate_all(forge_page, "txt2img", f"Seed: {seed}")
    plain = samples(plain, "txt2img")
    changes = {}
    results = {}
    for weight in ("0.6", "1"):
        tag = f"<lora:randLora:{weight}>"
        paste(forge_page, f"{PROMPT} {tag}", "fog", seed)
        task = assert_queue_matches_generate_all(forge_page, "txt2img", tag)
        assert "Lora hashes: " in task.result_info
        assert "randLora: " in task.result_info
        results[weight] = samples(task.result_images, "txt2img")
        changes[weight] = assert_changed(plain, results[weight])
    between = assert_changed(results["0.6"], results["1"])

    paste(forge_page, PROMPT, "fog, randEmbed", seed)
    marker = "Negative prompt: fog, randEmbed"
    task = assert_queue_matches_generate_all(forge_page, "txt2img", marker)
    embedding = assert_changed(plain, samples(task.result_images, "txt2img"))
    fidelity_note(
        f"LoRA :0.6 / :1 change the image by {changes['0.6']:.1f} / {changes['1']:.1f}/255 "
        f"(differ from each other by {between:.1f}); embedding by {embedding:.1f}/255"
    )


@pytest.mark.fidelity("LoRA (prompt tag)", "api")
@pytest.mark.fidelity("Embedding (negative prompt)", "api")
def test_lora_tag_and_negative_embedding_through_the_api_replay_like_sdapi(
    running_forge, fidelity_note
):
    body = {**BASE_BODY, "prompt": PROMPT, "negative_prompt": "fog", "seed": 910}
    plain = decoded(sdapi_txt2img(running_forge, body)["images"])[0]
    notes = []
    for weight in ("0.6", "1"):
        tagged = {**body, "prompt": f"{PROMPT} <lora:randLora:{weight}>"}
        direct, task = assert_queue_matches_sdapi(running_forge, tagged)
        assert "Lora hashes: " in task["infotext"]
        change = mean_difference(plain, decoded(direct["images"])[0])
        assert change > 0, "the LoRA did not change the image: nothing is proven"
        notes.append(f"LoRA :{weight} changes the image by {change:.1f}/255")
    embedded = {**body, "negative_prompt": "fog, randEmbed"}
    direct, task = assert_queue_matches_sdapi(running_forge, embedded)
    assert json.loads(direct["info"])["negative_prompt"] == "fog, randEmbed"
    change = mean_difference(plain, decoded(direct["images"])[0])
    assert change > 0, "the embedding did not change the image: nothing is proven"
    notes.append(f"embedding by {change:.1f}/255")
    fidelity_note("; ".join(notes))
