"""Two popular third-party extensions, installed into a Forge of the test's own: Dynamic Prompts
(random and combinatorial modes, a wildcard file) and Regional Prompter (Matrix, two columns).

Each is set through its own page controls, Generate, then Queue with the same page state and
run the task: identical pixels and infotext for every saved file, the same prompts chosen per
image, and proof that the extension changed something (the prompts or the image differ from the
same settings with it off). The same through the REST API (`alwayson_scripts`, /sdapi/v1/txt2img
against /task-scheduler/queue/txt2img).

Nothing is vendored and nothing is added to FORGE_DIR/extensions: the extensions are cloned at
pinned commits from the local mirrors of their public repositories (FORGE_MIRROR, default
/work/.mirror) into a Forge data folder of the test's own (`--data-dir`). Dynamic Prompts also
needs the `dynamicprompts` package in the Forge venv (tests/forge_env/SETUP.md step 7,
`setup_forge.sh --extensions`). Recorded for the README's fidelity table.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from .conftest import on_checkpoint
from .fidelity import assert_changed, assert_queue_matches_generate_all, generate_all, samples
from .forge_page import ForgePage
from .forge_process import REPO, ForgeProcess, forge_venv
from .identity import png_parameters
from .script_controls import ScriptControls, set_number
from .test_fidelity_api import BASE_BODY, assert_queue_matches_sdapi, decoded, mean_difference
from .test_fidelity_api import sdapi as sdapi_txt2img

MIRROR = Path(os.environ.get("FORGE_MIRROR", "/work/.mirror"))
DYNAMIC_PROMPTS = "sd-dynamic-prompts"
REGIONAL_PROMPTER = "sd-webui-regional-prompter"
EXTENSIONS = {
    # folder in <data>/extensions -> (mirror, pinned commit: the newest in the snapshot)
    DYNAMIC_PROMPTS: ("adieyal+sd-dynamic-prompts", "e8326b5eee92c78f3bc2aa424d5ea4a91bed2c38"),
    REGIONAL_PROMPTER: (
        "hako-mikan+sd-webui-regional-prompter",
        "be623452203b396ed87b85583a3cfd56e8157214",
    ),
}
DYNAMICPROMPTS_PACKAGE = "0.31."  # what sd-dynamic-prompts at that commit requires (~=0.31.0)
# At the pinned commit (the snapshot's newest, 2024-03-27) sd-dynamic-prompts registers its
# settings from Script.__init__, and Forge registers settings before it creates the scripts, so
# the options never exist and every generation logs "'Options' object has no attribute
# 'dp_ignore_whitespace'" and runs without Dynamic Prompts (upstream issues #752 / #754, fixed by
# #760 on 2024-04-11, which the snapshot lacks). Forge's options fall back to the settings
# file's values, so the test Forge starts with the defaults the extension would register.
DYNAMIC_PROMPTS_SETTINGS = {
    "dp_ignore_whitespace": False,
    "dp_write_raw_template": False,
    "dp_write_prompts_to_file": False,
    "dp_parser_variant_start": "{",
    "dp_parser_variant_end": "}",
    "dp_parser_wildcard_wrap": "__",
    "dp_limit_jinja_prompts": False,
    "dp_auto_purge_cache": False,
    "dp_wildcard_manager_no_dedupe": False,
    "dp_wildcard_manager_no_sort": False,
    "dp_wildcard_manager_shuffle": False,
    "dp_magicprompt_batch_size": 1,
}
OURS = "sd-webui-forge-task-scheduler"
BASE = "Steps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"
WEATHER = ["at dawn", "at noon", "at dusk", "in the rain", "in the snow", "in fog"]
COLOURS = ["red", "blue", "green", "yellow", "white", "black"]
RANDOM_TEMPLATE = "a {" + "|".join(COLOURS) + "} house __weather__"
COMBINATORIAL_TEMPLATE = "a {red|blue} house {at dawn|at dusk}"
REGIONS_PROMPT = "a red square BREAK a blue circle"


def clone(extensions: Path, folder: str) -> Path:
    mirror, commit = EXTENSIONS[folder]
    source = MIRROR / mirror / "repo"
    if not source.is_dir():
        pytest.skip(f"no mirror of {mirror} at {source} (set FORGE_MIRROR; fetch the repository)")
    target = extensions / folder
    git = shutil.which("git") or "git"
    subprocess.run([git, "clone", "-q", "--no-checkout", str(source), str(target)], check=True)
    subprocess.run([git, "-C", str(target), "checkout", "-q", commit], check=True)
    return target


def dynamicprompts_version() -> str | None:
    python = forge_venv() / "bin" / "python"
    result = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('dynamicprompts'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


# Each test's Forge holds only the extension it tests (module-scoped and parametrized: pytest
# groups the tests by extension and stops one Forge before it starts the next). With both
# installed every page test stalled after its first generation; with Dynamic Prompts alone its
# page tests pass, with Regional Prompter alone its page test still stalls (README, fidelity).
ONLY_DYNAMIC_PROMPTS = pytest.mark.parametrize(
    "third_party_forge", [DYNAMIC_PROMPTS], indirect=True, ids=["dp-only"]
)
ONLY_REGIONAL_PROMPTER = pytest.mark.parametrize(
    "third_party_forge", [REGIONAL_PROMPTER], indirect=True, ids=["rp-only"]
)


@pytest.fixture(scope="module")
def third_party_forge(request, forge_root, tmp_path_factory):
    folder = request.param
    data = tmp_path_factory.mktemp("forge-data")
    extensions = data / "extensions"
    extensions.mkdir()
    clone(extensions, folder)
    if folder == DYNAMIC_PROMPTS:
        wildcards = extensions / DYNAMIC_PROMPTS / "wildcards"
        wildcards.mkdir(exist_ok=True)
        (wildcards / "weather.txt").write_text("\n".join(WEATHER) + "\n")
    (extensions / OURS).symlink_to(REPO, target_is_directory=True)
    forge = ForgeProcess(
        forge_root,
        tmp_path_factory.mktemp("forge-third-party"),
        {
            "task_scheduler_start_on_launch": True,
            **on_checkpoint("randA"),
            **DYNAMIC_PROMPTS_SETTINGS,
        },
        [
            "--data-dir",
            str(data),
            "--ckpt-dir",
            str(forge_root / "models" / "Stable-diffusion"),
            # Gradio serves files only from allowed folders, and with --data-dir Forge allows
            # just the data folder: its own script.js and javascript/ would answer 403 and the
            # page would run without Forge's JavaScript.
            "--gradio-allowed-path",
            str(forge_root),
        ],
    )
    try:
        yield forge.start()
    finally:
        forge.stop()


@pytest.fixture
def _needs_dynamicprompts():
    version = dynamicprompts_version()
    if not (version or "").startswith(DYNAMICPROMPTS_PACKAGE):
        pytest.skip(
            f"the Forge venv {forge_venv()} has dynamicprompts {version or 'not installed'}; "
            f"sd-dynamic-prompts needs ~={DYNAMICPROMPTS_PACKAGE}0 "
            "(tests/forge_env/setup_forge.sh --extensions)"
        )


@pytest.fixture
def third_party_page(page, third_party_forge) -> ForgePage:
    # Both extensions add many components to the page; on the loaded 2-core machine a click on
    # Generate after opening their accordions took longer than Playwright's default 30 s to
    # settle ("waiting for scheduled navigations to finish").
    page.set_default_timeout(180_000)
    return ForgePage(page, third_party_forge).open()


def first_line(path) -> str:
    return png_parameters(path).split("\n", 1)[0]


def set_dynamic_prompts(forge_page: ForgePage, enabled: bool, combinatorial: bool = False):
    controls = ScriptControls(forge_page.page, "txt2img", "Dynamic Prompts").open()
    for label, wanted in (
        ("Dynamic Prompts enabled", enabled),
        ("Combinatorial generation", combinatorial),
    ):
        box = controls.root.get_by_label(label, exact=True)
        box.set_checked(wanted)
        expect(box).to_be_checked(checked=wanted)


def expansions_of_random_template() -> set[str]:
    return {f"a {colour} house {weather}" for colour in COLOURS for weather in WEATHER}


@ONLY_DYNAMIC_PROMPTS
@pytest.mark.usefixtures("_needs_dynamicprompts")
@pytest.mark.fidelity("Dynamic Prompts (random)", "txt2img")
def test_dynamic_prompts_random_mode_replays_the_same_prompts(third_party_page, fidelity_note):
    seed = 950
    third_party_page.paste_parameters(
        "txt2img", f"{RANDOM_TEMPLATE}\nNegative prompt: fog\n{BASE}, Seed: {seed}"
    )
    set_number(third_party_page.page, "txt2img_batch_count", 3)
    set_dynamic_prompts(third_party_page, enabled=True)

    task = assert_queue_matches_generate_all(third_party_page, "txt2img", f"Seed: {seed}")

    chosen = [first_line(path) for path in samples(task.result_images, "txt2img")]
    assert len(chosen) == 3
    assert set(chosen) <= expansions_of_random_template(), chosen
    assert len(set(chosen)) > 1, f"one prompt for every seed proves little: {chosen}"
    set_dynamic_prompts(third_party_page, enabled=False)
    _info, plain = generate_all(third_party_page, "txt2img", "__weather__")
    assert [first_line(path) for path in samples(plain, "txt2img")] == [RANDOM_TEMPLATE] * 3
    change = assert_changed(samples(plain, "txt2img"), samples(task.result_images, "txt2img"))
    fidelity_note(
        f"prompts chosen per seed: {' | '.join(chosen)}; image changed by {change:.1f}/255"
    )


@ONLY_DYNAMIC_PROMPTS
@pytest.mark.usefixtures("_needs_dynamicprompts")
@pytest.mark.fidelity("Dynamic Prompts (combinatorial)", "txt2img")
def test_dynamic_prompts_combinatorial_mode_replays_every_combination(
    third_party_page, fidelity_note
):
    seed = 960
    third_party_page.paste_parameters(
        "txt2img", f"{COMBINATORIAL_TEMPLATE}\nNegative prompt: fog\n{BASE}, Seed: {seed}"
    )
    set_dynamic_prompts(third_party_page, enabled=True, combinatorial=True)

    task = assert_queue_matches_generate_all(third_party_page, "txt2img", f"Seed: {seed}")

    made = samples(task.result_images, "txt2img")
    chosen = sorted(first_line(path) for path in made)
    wanted = sorted(f"a {c} house {w}" for c in ("red", "blue") for w in ("at dawn", "at dusk"))
    assert chosen == wanted
    assert len(task.result_images) == 5  # the four combinations and Forge's grid
    set_dynamic_prompts(third_party_page, enabled=False)
    _info, plain = generate_all(third_party_page, "txt2img", "{red|blue}")
    assert [first_line(path) for path in plain] == [COMBINATORIAL_TEMPLATE]
    fidelity_note("4 combinations (batch count 1) and the grid, each prompt replayed")


def dynamic_prompts_title(forge: ForgeProcess) -> str:
    scripts = forge.api("GET", "/sdapi/v1/scripts").json()["txt2img"]
    return next(s for s in scripts if s.startswith("dynamic prompts v"))


def dynamic_prompts_args(combinatorial: bool) -> list:
    """The script's 18 arguments, in the order of its ui() (magic prompt and the rest off)."""
    named = {
        "enabled": True,
        "combinatorial": combinatorial,
        "combinatorial batches": 1,
        "magic prompt": False,
        "feeling lucky": False,
        "attention grabber": False,
        "min attention": 1.1,
        "max attention": 1.5,
        "magic prompt length": 100,
        "magic creativity": 0.7,
        "fixed seed": False,
        "unlink seed from prompt": False,
        "not on negative prompts": True,
        "Jinja2 templates": False,
        "no image generation": False,
        "max generations": 0,
        "magic model": None,
        "magic blocklist": "",
    }
    return list(named.values())


def parameters_of(images: list[str]) -> list[str]:
    result = []
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            result.append(image.info.get("parameters", ""))
    return result


def task_parameters(forge: ForgeProcess, task: dict) -> list[str]:
    result = []
    for url in task["images"]:
        response = forge.api("GET", url.removeprefix(forge.url))
        with Image.open(io.BytesIO(response.content)) as image:
            if image.size == (64, 64):
                result.append(image.info.get("parameters", ""))
    return result


@ONLY_DYNAMIC_PROMPTS
@pytest.mark.usefixtures("_needs_dynamicprompts")
@pytest.mark.fidelity("Dynamic Prompts (random)", "api")
@pytest.mark.fidelity("Dynamic Prompts (combinatorial)", "api")
def test_dynamic_prompts_through_the_api_replays_like_sdapi(third_party_forge, fidelity_note):
    forge = third_party_forge
    title = dynamic_prompts_title(forge)
    notes = []
    for combinatorial, body in (
        (False, {**BASE_BODY, "prompt": RANDOM_TEMPLATE, "seed": 970, "n_iter": 2}),
        (True, {**BASE_BODY, "prompt": "a {red|blue} house at dusk", "seed": 980}),
    ):
        body["alwayson_scripts"] = {title: {"args": dynamic_prompts_args(combinatorial)}}
        direct, task = assert_queue_matches_sdapi(forge, body)
        theirs = parameters_of(direct["images"])
        mine = task_parameters(forge, task)
        assert sorted(mine) == sorted(theirs)
        chosen = [text.split("\n", 1)[0] for text in theirs]
        if combinatorial:
            assert sorted(chosen) == ["a blue house at dusk", "a red house at dusk"]
        else:
            assert len(chosen) == 2
            assert set(chosen) <= expansions_of_random_template(), chosen
        notes.append(("combinatorial: " if combinatorial else "random: ") + " | ".join(chosen))
    fidelity_note("; ".join(notes))


def set_regional_prompter(forge_page: ForgePage, active: bool) -> None:
    """Regional Prompter draws its own on/off box in the accordion header (its
    inputAccordion-m.js): opening the accordion does not turn it on."""
    controls = ScriptControls(forge_page.page, "txt2img", "Regional Prompter").open()
    box = controls.header.locator("input.input-accordion-checkbox")
    box.set_checked(active)
    expect(box).to_be_checked(checked=active)
    if active:
        controls.radio("Main Splitting", "Columns")
        ratio = controls.root.get_by_label("Divide Ratio", exact=True)
        ratio.fill("1,1")
        ratio.press("Tab")
        expect(ratio).to_have_value("1,1")


@ONLY_REGIONAL_PROMPTER
@pytest.mark.fidelity("Regional Prompter", "txt2img")
def test_regional_prompter_two_columns_replay_exactly(third_party_page, fidelity_note):
    seed = 990
    third_party_page.paste_parameters(
        "txt2img", f"{REGIONS_PROMPT}\nNegative prompt: fog\n{BASE}, Seed: {seed}"
    )
    _info, plain = generate_all(third_party_page, "txt2img", f"Seed: {seed}")
    set_regional_prompter(third_party_page, active=True)

    task = assert_queue_matches_generate_all(third_party_page, "txt2img", "RP Active: True")

    assert re.search(r"RP Divide mode: Matrix\b", task.result_info), task.result_info
    assert "RP Ratios: 1,1" in task.result_info or 'RP Ratios: "1,1"' in task.result_info
    change = assert_changed(samples(plain, "txt2img"), samples(task.result_images, "txt2img"))
    fidelity_note(f"Matrix, Columns 1,1, Attention: changes the image by {change:.1f}/255")


def regional_prompter_args() -> list:
    """The script's 20 arguments, in the order of its ui(): Matrix, two columns 1:1."""
    named = {
        "active": True,
        "debug": False,
        "tab": "Matrix",
        "Matrix submode": "Columns",
        "Mask submode": "Mask",
        "Prompt submode": "Prompt",
        "divide ratio": "1,1",
        "base ratio": "0.2",
        "use base": False,
        "use common": False,
        "use common negative": False,
        "calc mode": "Attention",
        "options": [],
        "LoRA neg te ratio": "0",
        "LoRA neg unet ratio": "0",
        "threshold": "0.4",
        "mask": None,
        "LoRA stop step": "0",
        "LoRA hires stop step": "0",
        "flip": False,
    }
    return list(named.values())


@ONLY_REGIONAL_PROMPTER
@pytest.mark.fidelity("Regional Prompter", "api")
def test_regional_prompter_through_the_api_replays_like_sdapi(third_party_forge, fidelity_note):
    forge = third_party_forge
    body = {**BASE_BODY, "prompt": REGIONS_PROMPT, "seed": 995}
    plain = decoded(sdapi_txt2img(forge, body)["images"])[0]
    body["alwayson_scripts"] = {"Regional Prompter": {"args": regional_prompter_args()}}

    direct, task = assert_queue_matches_sdapi(forge, body)

    assert "RP Active: True" in task["infotext"]
    change = mean_difference(plain, decoded(direct["images"])[0])
    assert change > 0, "Regional Prompter did not change the image: nothing is proven"
    fidelity_note(f"changes the image by {change:.1f}/255")
    assert json.loads(direct["info"])["prompt"] == REGIONS_PROMPT
