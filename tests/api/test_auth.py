"""With --api-auth every route needs the same Basic credentials; without it none does."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from task_scheduler.api.auth import credentials_match, parse_api_auth
from tests.api.conftest import USERS

BASE = "/task-scheduler"


def our_routes(client) -> list[tuple[str, str]]:
    routes = []
    for route in client.app.routes:
        if isinstance(route, APIRoute) and route.path.startswith(BASE):
            path = route.path.replace("{task_id}", "some-id").replace("{index}", "0")
            routes += [(method, path) for method in sorted(route.methods)]
    return routes


def test_every_route_is_protected(make_api):
    api = make_api(credentials=USERS)
    routes = our_routes(api.client)
    assert len(routes) >= 16  # every route the app has (16 when written)
    api.client.auth = None
    for method, path in routes:
        response = api.client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Basic"


@pytest.mark.parametrize(
    "auth",
    [("alice", "wrong"), ("mallory", "wonder land"), ("bob", USERS["alice"]), ("", "")],
)
def test_wrong_credentials_are_401_and_nothing_stored(make_api, auth):
    api = make_api(credentials=USERS)
    response = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "x"}, auth=auth)
    assert response.status_code == 401
    assert api.queue.counts()["pending"] == 0


def test_malformed_authorization_header_is_401(make_api):
    api = make_api(credentials=USERS)
    api.client.auth = None
    for header in ("Basic !!!not-base64", "Bearer token", "Basic " + "w6k=", "Basic"):
        response = api.client.get(f"{BASE}/queue", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_each_configured_user_gets_in(make_api):
    api = make_api(credentials=USERS)
    for user, password in USERS.items():
        response = api.client.post(
            f"{BASE}/queue/txt2img", json={"prompt": user}, auth=(user, password)
        )
        assert response.status_code == 201, user
    assert api.client.get(f"{BASE}/tasks", auth=("bob", USERS["bob"])).json()["total"] == 2


def test_without_api_auth_routes_are_open(app_api):
    app_api.client.auth = None
    assert app_api.client.get(f"{BASE}/queue").status_code == 200
    assert app_api.client.post(f"{BASE}/queue/txt2img", json={}).status_code == 201


def test_docs_declare_basic_auth_only_when_it_is_on(make_api):
    protected = make_api(credentials=USERS).client.get("/openapi.json").json()
    assert "HTTPBasic" in protected["components"]["securitySchemes"]
    open_api = make_api().client.get("/openapi.json").json()
    assert "securitySchemes" not in open_api.get("components", {})


def test_api_auth_flag_is_parsed_like_forge():
    assert parse_api_auth("alice:pw,bob:p:w") == {"alice": "pw", "bob": "p:w"}
    assert parse_api_auth("") is None
    with pytest.raises(ValueError, match="api-auth"):
        parse_api_auth("alice")


def test_credentials_match_handles_non_ascii_without_error():
    assert credentials_match(USERS, "bob", "pässwörd")
    assert not credentials_match(USERS, "bob", "passwort")
    assert not credentials_match(USERS, "bøb", "pässwörd")
