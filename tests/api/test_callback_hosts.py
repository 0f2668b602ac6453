"""The callback host allow-list (off by default): other hosts are refused when a task is
queued, edited or imported (422 naming callback_url, nothing stored), and never contacted at
delivery, where the list is read again (a list tightened after the task was queued).
"""

from __future__ import annotations

import pytest

from task_scheduler.callbacks.hosts import is_allowed, parse_hosts
from task_scheduler.core.services import Settings
from task_scheduler.forge.settings import settings_from_options
from tests.api.test_callbacks import BASE, Receiver, wait_callback_status

# Receivers here listen on 127.0.0.1: Forge's local-address rule is off, as the README says
# to do for a receiver on your own network, so only the allow-list decides.
LOCAL = {"forbid_local_requests": False}


@pytest.mark.parametrize(
    ("url", "allowed", "expected"),
    [
        ("http://hooks.example.com/x", "", True),  # off: any host
        ("http://hooks.example.com/x", "hooks.example.com", True),
        ("http://HOOKS.Example.com./x", "hooks.example.com", True),
        ("https://hooks.example.com:8443/x", "hooks.example.com", True),  # any port
        ("http://evil.example.com/x", "hooks.example.com", False),
        ("http://hooks.example.com.evil.net/x", "hooks.example.com", False),
        ("http://user@hooks.example.com@evil.net/x", "hooks.example.com", False),
        ("http://10.0.0.5:9000/x", "10.0.0.5:9000", True),
        ("http://10.0.0.5:9001/x", "10.0.0.5:9000", False),
        ("http://10.0.0.5/x", "10.0.0.5:80", True),  # the scheme's default port
        ("https://10.0.0.5/x", "10.0.0.5:80", False),
        ("http://[2001:db8::1]:8080/x", "[2001:db8::1]:8080", True),
        ("http://[2001:db8::1]:8080/x", "a.example, [2001:db8::1]", True),
        ("http://b.example/x", "a.example, not a host:xx", False),  # a bad entry allows nothing
        ("http://bücher.example/x", "xn--bcher-kva.example", True),
    ],
)
def test_the_allow_list_matches_hosts_and_ports(url, allowed, expected):
    assert is_allowed(url, allowed) is expected


def test_a_bad_entry_is_named():
    with pytest.raises(ValueError, match="'a.example:99999'"):
        parse_hosts("b.example, a.example:99999")


def test_the_setting_is_off_by_default_and_read_from_forge_options():
    assert Settings().callback_hosts == ""
    defaults = settings_from_options(lambda _key, default: default, "/data")
    assert defaults.callback_hosts == ""
    config = {"task_scheduler_callback_hosts": "hooks.example.com, 10.0.0.5:9000"}
    settings = settings_from_options(lambda key, default: config.get(key, default), "/data")
    assert settings.callback_hosts == "hooks.example.com, 10.0.0.5:9000"


def test_a_callback_to_another_host_is_refused_at_enqueue_naming_the_field(make_api):
    api = make_api(settings=Settings(callback_hosts="hooks.example.com", **LOCAL))
    body = {"prompt": "x", "callback_url": "http://192.168.1.1:8080/admin"}
    response = api.client.post(f"{BASE}/queue/txt2img", json=body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "callback_url"]
    assert "allow-list" in error["msg"]
    assert "hooks.example.com" not in error["msg"]  # the list itself is not told
    assert api.queue.counts()["pending"] == 0
    body["callback_url"] = "https://hooks.example.com/done"
    assert api.client.post(f"{BASE}/queue/txt2img", json=body).status_code == 201


def test_a_callback_to_another_host_is_refused_when_edited(make_api):
    api = make_api(settings=Settings(callback_hosts="hooks.example.com", **LOCAL))
    task_id = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "x"}).json()["id"]
    response = api.client.patch(f"{BASE}/tasks/{task_id}", json={"callback_url": "http://x.io/"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "callback_url"]
    assert api.queue.get_task(task_id).callback_url is None


def test_an_import_with_a_callback_to_another_host_stores_nothing(make_api):
    api = make_api(settings=Settings(callback_hosts="hooks.example.com", **LOCAL))
    task = {"task_type": "txt2img", "params": {"source": "api", "payload": {"prompt": "x"}}}
    document = {
        "tasks": [
            {**task, "callback_url": "https://hooks.example.com/a"},
            {**task, "callback_url": "http://169.254.169.254/latest/meta-data/"},
        ]
    }
    response = api.client.post(f"{BASE}/import", json=document)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "tasks", 1, "callback_url"]
    assert api.queue.counts()["pending"] == 0


def test_a_listed_receiver_gets_its_callback(make_api):
    receiver = Receiver()
    try:
        port = receiver.server.server_address[1]
        api = make_api(settings=Settings(callback_hosts=f"127.0.0.1:{port}", **LOCAL))
        body = {"prompt": "x", "callback_url": receiver.url}
        task_id = api.client.post(f"{BASE}/queue/txt2img", json=body).json()["id"]
        api.client.post(f"{BASE}/start")
        assert receiver.wait_for(1)[0]["task_id"] == task_id
        assert wait_callback_status(api, task_id).startswith("delivered")
    finally:
        receiver.close()


def test_a_list_tightened_after_queueing_stops_the_delivery(make_api):
    """Queued while any host was allowed; the list set before the task ran: the receiver is
    never contacted and the task says why."""
    receiver = Receiver()
    try:
        api = make_api(settings=Settings(**LOCAL))
        body = {"prompt": "x", "callback_url": receiver.url}
        task_id = api.client.post(f"{BASE}/queue/txt2img", json=body).json()["id"]
        tightened = Settings(callback_hosts="hooks.example.com", **LOCAL)
        api.services.settings = lambda: tightened  # what Settings > Apply does in Forge
        api.services.extras["callback_sender"].settings = api.services.settings
        api.client.post(f"{BASE}/start")
        outcome = wait_callback_status(api, task_id)
        assert outcome.startswith("not sent: host not on the callback host allow-list")
        assert receiver.bodies == []
    finally:
        receiver.close()


def test_the_default_callback_url_is_held_to_the_list_too(make_api):
    receiver = Receiver()
    try:
        settings = Settings(callback_url=receiver.url, callback_hosts="hooks.example.com", **LOCAL)
        api = make_api(settings=settings)
        task_id = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "x"}).json()["id"]
        api.client.post(f"{BASE}/start")
        assert wait_callback_status(api, task_id).startswith("not sent: host not on")
        assert receiver.bodies == []
    finally:
        receiver.close()
