"""The REST access rule and the cross-site refusal inside a real Forge (needs FORGE_DIR).

Proves the Forge side (forge/extension.py reading cmd_opts, Gradio's login, Forge's
middleware): with --gradio-auth and no --api the routes do not exist and the tab works after
the login; with --api too, the routes need the login's credentials as HTTP Basic; a
cross-site call of the tab's event changes nothing.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.forge_process import ForgeProcess, forge_dir, install_extension

pytestmark = pytest.mark.forge

FORGE = forge_dir()
if FORGE is None or not (FORGE / "launch.py").is_file():
    pytest.skip("FORGE_DIR is not set to a Forge checkout", allow_module_level=True)

LOGIN = ("ada", "lovelace")
QUEUE = "/task-scheduler/queue"


def launch(tmp_path, monkeypatch, api: bool) -> ForgeProcess:
    install_extension(FORGE)
    monkeypatch.setenv("FORGE_API", "1" if api else "0")
    checkpoint = FORGE / "models" / "Stable-diffusion" / "randA.safetensors"
    args = ["--ckpt", str(checkpoint), "--gradio-auth", ":".join(LOGIN)]
    process = ForgeProcess(FORGE, tmp_path / "forge", {}, args)
    return process.start()


def log_in(client: httpx.Client) -> None:
    response = client.post("/login", data={"username": LOGIN[0], "password": LOGIN[1]})
    assert response.status_code == 200, response.text


def call(client: httpx.Client, api_name: str, request: dict, **headers: str) -> dict:
    body = {"data": [json.dumps(request)]}
    response = client.post(f"/run/{api_name}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return json.loads(response.json()["data"][0])


def test_gradio_auth_without_api(tmp_path, monkeypatch):
    process = launch(tmp_path, monkeypatch, api=False)
    try:
        assert httpx.get(process.url + QUEUE, timeout=120).status_code == 404
        assert httpx.get(process.url + QUEUE, auth=LOGIN, timeout=120).status_code == 404
        with httpx.Client(base_url=process.url, timeout=120) as client:
            log_in(client)
            assert call(client, "task_scheduler_poll", {"force": True})["status"]
            evil = call(
                client, "task_scheduler_act", {"action": "start"}, Origin="https://evil.example"
            )
            assert evil["ok"] is False
            assert "Refused" in evil["error"]
            assert (
                call(client, "task_scheduler_poll", {"force": True})["status"]["running"] is False
            )
            own = call(client, "task_scheduler_act", {"action": "start"}, Origin=process.url)
            assert own["ok"] is True, own
    finally:
        process.stop()


def test_gradio_auth_with_api(tmp_path, monkeypatch):
    process = launch(tmp_path, monkeypatch, api=True)
    try:
        assert httpx.get(process.url + QUEUE, timeout=120).status_code == 401
        assert httpx.get(process.url + QUEUE, auth=("x", "y"), timeout=120).status_code == 401
        assert httpx.get(process.url + QUEUE, auth=LOGIN, timeout=120).status_code == 200
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        refused = httpx.post(
            process.url + "/task-scheduler/start", auth=LOGIN, headers=form, timeout=120
        )
        assert refused.status_code == 415
    finally:
        process.stop()
