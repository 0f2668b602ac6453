"""Callback URLs and Forge's api_forbid_local_requests (on by default, as in Forge).

On: a URL naming a local address is refused when queued or edited (422 naming callback_url,
nothing stored); a name that only resolves to a local address is accepted but never
contacted (the outcome says why, the same for an open or a closed port). Off: local
receivers get their callbacks (tests/api/test_callbacks.py).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import subprocess

import pytest

from task_scheduler.core.services import Settings
from tests.api.test_callbacks import BASE, Receiver, dead_url, wait_callback_status

FORBID = Settings()  # Forge's default: api_forbid_local_requests on
ALLOW = Settings(forbid_local_requests=False)
LOCAL_HOSTS = [
    "127.0.0.1",
    "127.1",  # short dotted form
    "2130706433",  # 127.0.0.1 as one number
    "0x7f000001",
    "0.0.0.0",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "localhost",
    "LOCALHOST.",
    "api.localhost",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "[fd00::1]",
    "[fe80::1]",
]


def test_forbid_local_is_forge_default():
    assert Settings().forbid_local_requests is True


@pytest.mark.parametrize("host", LOCAL_HOSTS)
def test_clearly_local_callback_url_is_refused_at_enqueue(make_api, host):
    api = make_api(settings=FORBID)
    url = f"http://{host}:8080/hook"
    response = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "x", "callback_url": url})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "callback_url"]
    assert "api_forbid_local_requests" in detail["msg"]
    assert api.queue.counts()["pending"] == 0


def test_local_callback_url_is_refused_when_edited(make_api):
    api = make_api(settings=FORBID)
    task_id = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "x"}).json()["id"]
    response = api.client.patch(
        f"{BASE}/tasks/{task_id}", json={"callback_url": "http://127.0.0.1:9/x"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "callback_url"]
    assert api.queue.get_task(task_id).callback_url is None


def test_public_names_are_accepted_at_enqueue_without_a_lookup(make_api):
    api = make_api(settings=FORBID)
    for url in ("https://hooks.example.com/x", "http://8.8.8.8/x", "http://[2001:4860::8888]/"):
        body = {"prompt": "x", "callback_url": url}
        assert api.client.post(f"{BASE}/queue/txt2img", json=body).status_code == 201, url


def local_name() -> str:
    """A host name (not a localhost name) that resolves to a local address here."""
    name = socket.gethostname()
    try:
        addresses = {i[4][0] for i in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    if not addresses or any(ipaddress.ip_address(a).is_global for a in addresses):
        pytest.skip(f"{name!r} resolves to a global address here")
    return name


def test_a_name_resolving_to_a_local_address_is_never_contacted(make_api):
    """What enqueue cannot see (a DNS name; it could also rebind later) is checked on the
    address actually connected to, and the outcome does not tell open from closed ports."""
    listening = Receiver()
    try:
        name = local_name()
        port = listening.server.server_address[1]
        api = make_api(settings=FORBID)
        urls = [f"http://{name}:{port}/hook", dead_url().replace("127.0.0.1", name)]
        ids = []
        for url in urls:
            body = {"prompt": "x", "callback_url": url}
            response = api.client.post(f"{BASE}/queue/txt2img", json=body)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        api.client.post(f"{BASE}/start")
        outcomes = {wait_callback_status(api, task_id) for task_id in ids}
        assert outcomes == {
            "not sent: local address refused (Forge's api_forbid_local_requests option is on)"
        }
        assert listening.bodies == []
    finally:
        listening.close()


def test_with_the_option_off_a_local_name_is_delivered(make_api):
    listening = Receiver()
    try:
        name = local_name()
        api = make_api(settings=ALLOW)
        url = listening.url.replace("127.0.0.1", name)
        task_id = api.client.post(
            f"{BASE}/queue/txt2img", json={"prompt": "x", "callback_url": url}
        ).json()["id"]
        api.client.post(f"{BASE}/start")
        assert listening.wait_for(1)[0]["task_id"] == task_id
    finally:
        listening.close()


# -- delivery to the checked address ----------------------------------------------------------
# No DNS here can answer "global" for a local receiver, so these tests name the receiver's
# loopback address as not local (CallbackSender's `is_local`): the delivery then takes the
# path every public callback takes while the option is on.


def loopback_is_global(address: str) -> bool:
    return address != "127.0.0.1" and not ipaddress.ip_address(address).is_global


def self_signed(tmp_path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting only this certificate) for `name`."""
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name}"),
        ],
        check=True,
        capture_output=True,
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


def deliver_to(make_api, url: str, **options) -> str:
    api = make_api(settings=FORBID, callback_options={"is_local": loopback_is_global, **options})
    body = {"prompt": "x", "callback_url": url}
    task_id = api.client.post(f"{BASE}/queue/txt2img", json=body).json()["id"]
    api.client.post(f"{BASE}/start")
    return wait_callback_status(api, task_id)


def test_delivery_goes_to_the_checked_address_with_the_urls_host(make_api):
    receiver = Receiver()
    try:
        name, port = local_name(), receiver.server.server_address[1]
        outcome = deliver_to(make_api, f"http://{name}:{port}/hook?x=1")
        assert outcome.startswith("delivered (HTTP 200"), outcome
        assert receiver.headers[0]["Host"] == f"{name}:{port}"
        assert receiver.headers[0]["Content-Type"] == "application/json"
        assert receiver.headers[0]["Idempotency-Key"].endswith(":completed")
        assert receiver.bodies[0]["status"] == "completed"
    finally:
        receiver.close()


def test_https_delivery_checks_the_certificate_for_the_urls_host(make_api, tmp_path):
    name = local_name()
    server_tls, client_tls = self_signed(tmp_path, name)
    receiver = Receiver(tls=server_tls)
    try:
        url = f"https://{name}:{receiver.server.server_address[1]}/hook"
        outcome = deliver_to(make_api, url, ssl_context=client_tls)
        assert outcome.startswith("delivered (HTTP 200"), outcome
        assert receiver.headers[0]["Host"] == f"{name}:{receiver.server.server_address[1]}"
    finally:
        receiver.close()


def test_https_delivery_refuses_a_certificate_for_another_host(make_api, tmp_path):
    name = local_name()
    server_tls, _ = self_signed(tmp_path, "someone-else.example")
    _, client_tls = self_signed(tmp_path, name)
    receiver = Receiver(tls=server_tls)
    try:
        url = f"https://{name}:{receiver.server.server_address[1]}/hook"
        outcome = deliver_to(make_api, url, ssl_context=client_tls, attempts=1)
        assert outcome.startswith("failed after 1 attempt: ConnectError"), outcome
        assert "CERTIFICATE_VERIFY_FAILED" in outcome
        assert receiver.bodies == []
    finally:
        receiver.close()
