"""Against a real Forge: a widely used sdapi client's payloads queue unchanged and give the same
image as the same payload sent to /sdapi/v1. Needs FORGE_DIR (see tests/forge_env/SETUP.md).

Payloads are built by the `webuiapi` package (the usual Python client for the A1111/Forge API):
each call goes to Forge's /sdapi/v1 as usual, and the exact JSON it sent is then posted to
/task-scheduler/queue/*. The queued task's saved image must equal sdapi's pixel for pixel
(Forge is deterministic on the CPU; img2img is made repeatable by the test-only seed script
that launch_forge.sh installs).
"""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.integration.forge_process import (
    ForgeProcess,
    forge_dir,
    install_extension,
    wait_until,
)

pytestmark = pytest.mark.forge

FORGE = forge_dir()
if FORGE is None or not (FORGE / "launch.py").is_file():
    pytest.skip("FORGE_DIR is not set to a Forge checkout", allow_module_level=True)

webuiapi = pytest.importorskip("webuiapi")

BASE = "/task-scheduler"
TIMEOUT = 900.0


class CapturingClient(webuiapi.WebUIApi):
    """webuiapi's client, remembering the exact JSON body of each request it sends."""

    def __init__(self, *args, **kwargs):
        self.sent: list[tuple[str, dict]] = []
        super().__init__(*args, **kwargs)

    def post_and_get_api_result(self, url, json_body, use_async):
        self.sent.append((url, json.loads(json.dumps(json_body))))  # as the wire carries it
        return super().post_and_get_api_result(url, json_body, use_async)


@pytest.fixture(scope="module")
def forge(tmp_path_factory):
    install_extension(FORGE)
    checkpoint = FORGE / "models" / "Stable-diffusion" / "randA.safetensors"
    process = ForgeProcess(
        FORGE,
        tmp_path_factory.mktemp("forge-api"),
        # the callback test's receiver is local: allow it (Forge forbids local URLs by default)
        {"task_scheduler_start_on_launch": False, "api_forbid_local_requests": False},
        ["--ckpt", str(checkpoint)],
    )
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def client(forge) -> CapturingClient:
    return CapturingClient(host="127.0.0.1", port=forge.port, sampler="Euler a", steps=2)


def queue_and_run(forge: ForgeProcess, tab: str, body: dict) -> dict:
    response = forge.api(
        "POST",
        f"{BASE}/queue/{tab}",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    assert forge.api("POST", f"{BASE}/start").status_code == 200
    forge.wait_finished(task_id, TIMEOUT)
    return forge.api("GET", f"{BASE}/tasks/{task_id}").json()


def result_image(forge: ForgeProcess, task: dict, index: int = 0) -> Image.Image:
    response = forge.api("GET", task["images"][index].removeprefix(forge.url))
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


def same_pixels(first: Image.Image, second: Image.Image) -> bool:
    return first.convert("RGB").tobytes() == second.convert("RGB").tobytes()


def test_webuiapi_txt2img_payload_queues_unchanged_and_gives_the_sdapi_image(forge, client):
    direct = client.txt2img(
        prompt="a red cube on a table", negative_prompt="blurry", seed=4242,
        width=64, height=64, cfg_scale=6.5,
    )  # fmt: skip
    _url, body = client.sent[-1]
    task = queue_and_run(forge, "txt2img", body)
    assert task["status"] == "completed", task["error"]
    assert task["params"]["payload"] == body
    assert same_pixels(result_image(forge, task), direct.image)
    assert task["infotext"] == direct.info["infotexts"][0]
    assert task["seeds"] == direct.info["all_seeds"]


def test_webuiapi_batch_with_random_seed_records_resolved_seeds(forge, client):
    client.txt2img(prompt="two small boxes", seed=-1, width=64, height=64, batch_size=2)
    _url, body = client.sent[-1]
    task = queue_and_run(forge, "txt2img", body)
    assert task["status"] == "completed", task["error"]
    assert len(task["seeds"]) == 2
    assert -1 not in task["seeds"]
    assert len(task["images"]) >= 2


def test_webuiapi_inpaint_payload_queues_unchanged_and_gives_the_sdapi_image(forge, client):
    init = Image.new("RGB", (64, 64), (40, 90, 160))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    direct = client.img2img(
        images=[init], mask_image=mask, prompt="a yellow square", seed=777,
        width=64, height=64, denoising_strength=0.6,
    )  # fmt: skip
    _url, body = client.sent[-1]
    task = queue_and_run(forge, "img2img", body)
    assert task["status"] == "completed", task["error"]
    assert len(task["files"]) == 2  # init image and mask, kept as files until the run
    assert same_pixels(result_image(forge, task), direct.image)
    assert task["infotext"] == direct.info["infotexts"][0]


def test_webuiapi_selectable_script_payload_gives_the_sdapi_images(forge, client):
    direct = client.txt2img(
        prompt="a cube|red|shiny", seed=99, width=64, height=64,
        script_name="prompt matrix", script_args=[False, False, "positive", "comma", 0],
    )  # fmt: skip
    _url, body = client.sent[-1]
    task = queue_and_run(forge, "txt2img", body)
    assert task["status"] == "completed", task["error"]
    queued = [result_image(forge, task, n) for n in range(len(task["images"]))]
    assert len(direct.images) == 5  # the matrix grid, then 4 combinations
    for expected in direct.images:  # every image sdapi returned was also saved for the task
        assert any(same_pixels(expected, image) for image in queued)
    assert task["infotext"] == direct.info["infotexts"][0]


def test_sampler_alias_that_sdapi_would_swap_silently_leaves_a_warning(forge):
    body = {"prompt": "alias", "sampler_name": "k_euler_a", "steps": 2, "width": 64, "height": 64}
    task = queue_and_run(forge, "txt2img", body)
    assert task["status"] == "completed", task["error"]
    assert any("k_euler_a" in warning for warning in task["warnings"])


def test_unknown_sampler_is_refused_with_422_on_real_forge(forge):
    response = forge.api("POST", f"{BASE}/queue/txt2img", json={"sampler_name": "Nonexistent"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "sampler_name"]


def test_routes_are_in_forge_docs_and_accept_every_sdapi_field(forge):
    spec = forge.api("GET", "/openapi.json").json()
    operations = {
        (method.upper(), path.removeprefix(BASE))
        for path, methods in spec["paths"].items()
        if path.startswith(BASE)
        for method in methods
    }
    assert operations == {
        ("POST", "/queue/txt2img"),
        ("POST", "/queue/img2img"),
        ("GET", "/queue"),
        ("GET", "/tasks"),
        ("GET", "/tasks/{task_id}"),
        ("PATCH", "/tasks/{task_id}"),
        ("DELETE", "/tasks/{task_id}"),
        ("GET", "/tasks/{task_id}/images/{index}"),
        ("POST", "/queue/{task_id}/cancel"),
        ("POST", "/tasks/{task_id}/retry"),
        ("POST", "/tasks/{task_id}/move"),
        ("POST", "/start"),
        ("POST", "/stop"),
        ("POST", "/clear-completed"),
        ("GET", "/export"),
        ("POST", "/import"),
    }
    schemas = spec["components"]["schemas"]
    for forge_model, our_model in (
        ("StableDiffusionProcessingTxt2Img", "Txt2ImgRequest"),
        ("StableDiffusionProcessingImg2Img", "Img2ImgRequest"),
    ):
        theirs, mine = schemas[forge_model]["properties"], schemas[our_model]["properties"]
        assert set(theirs) - set(mine) == set(), f"{our_model} lacks fields"
        for name, schema in theirs.items():
            assert json_types(schema) <= json_types(mine[name]), name


def json_types(schema: dict) -> set[str]:
    """The JSON types a property schema allows ("any" for an unconstrained one)."""
    options = schema.get("anyOf", [schema])
    return {option.get("type", "any") for option in options}


def test_docs_page_is_served(forge):
    response = forge.api("GET", "/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
    assert Path(forge.log_path).exists()


def test_callback_from_real_forge_carries_fetchable_image_urls(forge):
    received: list[dict] = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()
            arrived.set()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
        body = {"prompt": "a teapot", "seed": 5, "steps": 2, "width": 64, "height": 64}
        task = queue_and_run(forge, "txt2img", {**body, "callback_url": hook})
        assert arrived.wait(TIMEOUT)
        callback = received[0]
        assert (callback["task_id"], callback["status"]) == (task["id"], "completed")
        assert callback["images"] == task["images"]
        assert httpx.get(callback["images"][0], timeout=60).status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def test_nowebui_with_api_auth_protects_routes_and_runs_the_queue(tmp_path):
    install_extension(FORGE)
    checkpoint = FORGE / "models" / "Stable-diffusion" / "randA.safetensors"
    process = ForgeProcess(
        FORGE,
        tmp_path / "forge-nowebui",
        {"task_scheduler_start_on_launch": True},
        ["--ckpt", str(checkpoint), "--nowebui", "--api-auth", "alice:s3cret,bob:other"],
    )
    try:
        process.start()
        url = f"{process.url}{BASE}/queue"
        wait_until(lambda: _answers(url), 120, "the API-only server to answer")
        assert httpx.get(url, timeout=60).status_code == 401
        assert httpx.get(url, auth=("alice", "wrong"), timeout=60).status_code == 401
        body = {"prompt": "api only", "seed": 3, "steps": 2, "width": 64, "height": 64}
        response = httpx.post(
            f"{process.url}{BASE}/queue/txt2img", json=body, auth=("bob", "other"), timeout=60
        )
        assert response.status_code == 201, response.text
        finished = process.wait_finished(response.json()["id"], TIMEOUT)
        assert finished.status.value == "completed", finished.error
        image = httpx.get(
            f"{process.url}{BASE}/tasks/{finished.id}/images/0", auth=("alice", "s3cret"),
            timeout=60,
        )  # fmt: skip
        assert image.status_code == 200
        assert image.headers["content-type"].startswith("image/")
    finally:
        process.stop()


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return False
    return True
