"""Hostile enqueue bodies: size, image pixels and image count are capped (413 / 422, nothing
stored), images are checked without being decoded, and a body is refused before it is read
whole. Limits come from the settings (Settings > Task Scheduler)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import uvicorn
from PIL import Image

from task_scheduler.core.services import Settings
from tests.api.conftest import WAIT, png_base64

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
TXT2IMG = "/task-scheduler/queue/txt2img"
IMG2IMG = "/task-scheduler/queue/img2img"


def detail_of(reply) -> tuple[list, str]:
    first = reply.json()["detail"][0]
    return first["loc"], first["msg"]


def nothing_stored(api) -> bool:
    files = api.tmp_path / "inputs"
    return api.queue.counts()["pending"] == 0 and not (files.exists() and any(files.iterdir()))


# -- images --------------------------------------------------------------------------------


def test_image_bomb_is_refused_without_decoding_it(tmp_path):
    """A 10000 x 10000 PNG of a few hundred KB (300 MB decoded) as an init image and inside
    ControlNet args: 422 naming where it is, and the process's memory peak barely moves."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.api.bomb_enqueue", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["status"] == {"init_image": 422, "script_arg": 422}
    assert report["details"]["init_image"][0]["loc"] == ["body", "init_images", 0]
    assert report["details"]["script_arg"][0]["loc"] == [
        "body", "alwayson_scripts", "ControlNet", "args", 0, "image",
    ]  # fmt: skip
    assert "10000 x 10000" in report["details"]["init_image"][0]["msg"]
    assert report["pending"] == 1  # only the warm-up task
    assert report["growth_mb"] < 50, f"peak memory grew {report['growth_mb']:.0f} MB"


def sized_png(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_image_over_the_pixel_setting_is_refused_naming_it(make_api):
    api = make_api(settings=Settings(max_image_megapixels=1))  # 1024 x 1024
    fits = api.client.post(IMG2IMG, json={"init_images": [sized_png(1024, 1024)]})
    assert fits.status_code == 201, fits.text
    api.queue.delete_task(fits.json()["id"])
    too_big = api.client.post(
        IMG2IMG, json={"init_images": [png_base64()], "mask": sized_png(1025, 1024)}
    )
    assert too_big.status_code == 422
    loc, message = detail_of(too_big)
    assert loc == ["body", "mask"]
    assert "1025 x 1024" in message
    assert "1,048,576 pixels" in message


def test_broken_image_is_refused_naming_it(app_api):
    truncated = base64.b64decode(sized_png(64, 64))[:-20]  # the IDAT checksum and IEND lost
    body = {
        "alwayson_scripts": {
            "ControlNet": {"args": [{"image": base64.b64encode(truncated).decode("ascii")}]}
        }
    }
    reply = app_api.client.post(TXT2IMG, json=body)
    assert reply.status_code == 422
    loc, message = detail_of(reply)
    assert loc == ["body", "alwayson_scripts", "ControlNet", "args", 0, "image"]
    assert "broken PNG" in message
    assert nothing_stored(app_api)


def test_text_in_script_args_is_never_taken_for_an_image(app_api):
    words = "a long prompt-like argument for a script, well over thirty-two characters"
    almost_base64 = png_base64() + "!"  # not strict base64: a text, kept as sent
    body = {"alwayson_scripts": {"ControlNet": {"args": [words, almost_base64]}}}
    reply = app_api.client.post(TXT2IMG, json=body)
    assert reply.status_code == 201, reply.text
    task = app_api.queue.get_task(reply.json()["id"])
    assert task.params["payload"]["alwayson_scripts"]["ControlNet"]["args"] == [
        words,
        almost_base64,
    ]
    assert task.files == []


def test_too_many_images_are_refused_before_any_is_kept(make_api):
    api = make_api(settings=Settings(max_images=2))
    listed = api.client.post(IMG2IMG, json={"init_images": [png_base64()] * 3})
    assert listed.status_code == 422
    assert detail_of(listed)[0] == ["body", "init_images"]
    spread = {
        "init_images": [png_base64((1, 2, 3)), png_base64((4, 5, 6))],
        "alwayson_scripts": {"ControlNet": {"args": [{"image": png_base64((7, 8, 9))}]}},
    }
    reply = api.client.post(IMG2IMG, json=spread)
    assert reply.status_code == 422
    loc, message = detail_of(reply)
    assert loc == ["body", "alwayson_scripts", "ControlNet", "args", 0, "image"]
    assert "more than 2 images" in message
    assert nothing_stored(api)
    two = api.client.post(IMG2IMG, json={"init_images": spread["init_images"]})
    assert two.status_code == 201, two.text


# -- body size -----------------------------------------------------------------------------


def test_body_over_the_size_setting_is_refused_with_413(make_api):
    api = make_api(settings=Settings(max_body_mb=1))
    under = api.client.post(TXT2IMG, json={"prompt": "x" * (MB - 100)})
    assert under.status_code == 201, under.text
    api.queue.delete_task(under.json()["id"])
    over = api.client.post(TXT2IMG, json={"prompt": "x" * MB})
    assert over.status_code == 413
    assert "1,048,576 bytes" in over.json()["detail"]
    imported = api.client.post(
        "/task-scheduler/import", json={"tasks": [], "files": {"a": "x" * MB}}
    )
    assert imported.status_code == 413
    assert api.queue.counts()["pending"] == 0


@pytest.fixture
def served(make_api):
    """The API on a real uvicorn server (what Forge runs) on a free local port."""
    servers = []

    def serve(**kwargs):
        api = make_api(**kwargs)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # connections queue up until the server thread accepts them
        server = uvicorn.Server(uvicorn.Config(api.client.app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        servers.append((server, thread, listener))
        return api, listener.getsockname()[1]

    yield serve
    for server, thread, listener in servers:
        server.should_exit = True
        thread.join(WAIT)
        listener.close()


def send_raw(port: int, head: str, body_parts: list[bytes]) -> tuple[int, bytes]:
    """Send a request as given (the body possibly unfinished); the reply's status and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as conn:
        conn.sendall(head.encode("ascii"))
        for part in body_parts:
            conn.sendall(part)
        reply = b""
        while b"\r\n\r\n" not in reply:
            data = conn.recv(65536)
            assert data, f"connection closed without a reply: {reply!r}"
            reply += data
        header, _, body = reply.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length")
        )
        while len(body) < length:
            data = conn.recv(65536)
            assert data, "connection closed in the middle of the reply"
            body += data
        return int(lines[0].split()[1]), body


def request_head(port: int, framing: str) -> str:
    return (
        f"POST {TXT2IMG} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    )


def test_declared_oversize_body_is_refused_before_it_is_sent(served):
    """Only the headers are sent: the 413 comes from Content-Length alone."""
    api, port = served(settings=Settings(max_body_mb=1))
    status, body = send_raw(port, request_head(port, f"Content-Length: {10**9}"), [])
    assert status == 413
    assert "larger than" in json.loads(body)["detail"]
    assert api.queue.counts()["pending"] == 0


def test_chunked_oversize_body_is_refused_while_it_streams(served):
    """A chunked body that never ends: refused once it passes the limit, never read whole."""
    api, port = served(settings=Settings(max_body_mb=1))
    piece = b'{"prompt": "' + b"x" * (256 * 1024)
    chunks = [f"{len(piece):x}\r\n".encode() + piece + b"\r\n"] * 5  # 1.25 MB, no last chunk
    status, body = send_raw(port, request_head(port, "Transfer-Encoding: chunked"), chunks)
    assert status == 413
    assert "larger than" in json.loads(body)["detail"]
    assert api.queue.counts()["pending"] == 0


def test_chunked_body_under_the_limit_is_queued(served):
    _api, port = served(settings=Settings(max_body_mb=1))
    body = json.dumps({"prompt": "chunked"}).encode()
    chunks = [f"{len(body):x}\r\n".encode() + body + b"\r\n", b"0\r\n\r\n"]
    status, reply = send_raw(port, request_head(port, "Transfer-Encoding: chunked"), chunks)
    assert status == 201, reply


def test_imported_image_over_the_pixel_setting_is_refused_naming_the_file(make_api):
    from tests.api.bomb_enqueue import png_bomb

    api = make_api()
    bomb = png_bomb()
    name = f"{hashlib.sha256(bomb).hexdigest()}.png"
    params = {"source": "api", "payload": {"init_images": [{"__ts_file__": name}]}}
    document = {
        "tasks": [{"task_type": "img2img", "params": params, "files": [name]}],
        "files": {name: base64.b64encode(bomb).decode("ascii")},
    }
    reply = api.client.post("/task-scheduler/import", json=document)
    assert reply.status_code == 422
    loc, message = detail_of(reply)
    assert loc == ["body", "files", name]
    assert "10000 x 10000" in message
    assert nothing_stored(api)


def test_limits_come_from_forge_options_and_reach_the_api(make_api):
    """The options as config.json holds them: bad values fall back, zero is raised to 1."""
    from task_scheduler.forge.settings import settings_from_options

    config = {
        "task_scheduler_max_body_mb": "2",
        "task_scheduler_max_image_megapixels": "lots",
        "task_scheduler_max_images": 0,
    }
    settings = settings_from_options(lambda key, default: config.get(key, default), "/data")
    assert (settings.max_body_mb, settings.max_image_megapixels, settings.max_images) == (2, 64, 1)
    defaults = settings_from_options(lambda _key, default: default, "/data")
    assert (defaults.max_body_mb, defaults.max_image_megapixels, defaults.max_images) == (64,) * 3
    assert defaults.max_image_pixels == 8192 * 8192

    api = make_api(settings=settings)
    assert api.client.post(TXT2IMG, json={"prompt": "x" * (2 * MB - 100)}).status_code == 201
    assert api.client.post(TXT2IMG, json={"prompt": "x" * (2 * MB)}).status_code == 413
    two = {"init_images": [png_base64(), png_base64((9, 9, 9))]}
    assert api.client.post(IMG2IMG, json=two).status_code == 422


# -- pending tasks -------------------------------------------------------------------------


def test_enqueues_past_the_pending_setting_are_refused_with_429(make_api):
    api = make_api(settings=Settings(max_pending=2))
    first = api.client.post(TXT2IMG, json={"prompt": "one"})
    assert api.client.post(TXT2IMG, json={"prompt": "two"}).status_code == 201
    refused = api.client.post(IMG2IMG, json={"init_images": [png_base64()]})
    assert refused.status_code == 429
    assert "at most 2" in refused.json()["detail"]
    assert api.queue.counts()["pending"] == 2
    assert not (api.tmp_path / "inputs").exists() or not any((api.tmp_path / "inputs").iterdir())
    document = api.client.get("/task-scheduler/export").json()
    assert api.client.post("/task-scheduler/import", json=document).status_code == 429
    assert api.queue.counts()["pending"] == 2
    api.queue.delete_task(first.json()["id"])  # room again
    assert api.client.post(TXT2IMG, json={"prompt": "three"}).status_code == 201


def test_a_rest_retry_past_the_pending_setting_is_refused_with_429(make_api):
    api = make_api(settings=Settings(max_pending=1))
    failed = api.queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "x"}})
    api.queue.claim_next()
    api.queue.update_task_status(failed.id, "failed", error="RuntimeError: failed")
    waiting = api.client.post(TXT2IMG, json={"prompt": "waiting"}).json()["id"]
    refused = api.client.post(f"/task-scheduler/tasks/{failed.id}/retry")
    assert refused.status_code == 429, refused.text
    assert "already holds 1 pending tasks and takes at most 1" in refused.json()["detail"]
    assert api.queue.counts()["pending"] == 1
    api.queue.delete_task(waiting)  # room again
    assert api.client.post(f"/task-scheduler/tasks/{failed.id}/retry").status_code == 201


def test_an_image_in_script_args_wrapped_over_lines_is_still_checked(make_api):
    """Forge decodes base64 leniently, so line-wrapped base64 is an image to it too."""
    api = make_api(settings=Settings(max_image_megapixels=1))

    def wrapped(encoded: str) -> str:
        return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))

    too_big = {
        "alwayson_scripts": {"ControlNet": {"args": [{"image": wrapped(sized_png(1025, 1024))}]}}
    }
    reply = api.client.post(TXT2IMG, json=too_big)
    assert reply.status_code == 422
    assert detail_of(reply)[0] == ["body", "alwayson_scripts", "ControlNet", "args", 0, "image"]
    small = wrapped(sized_png(64, 64))
    fits = {"alwayson_scripts": {"ControlNet": {"args": [{"image": small}]}}}
    reply = api.client.post(TXT2IMG, json=fits)
    assert reply.status_code == 201, reply.text
    task = api.queue.get_task(reply.json()["id"])
    assert task.params["payload"]["alwayson_scripts"]["ControlNet"]["args"][0]["image"] == small
