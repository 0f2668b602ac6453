"""The REST routes' rule over every combination of Forge's flags (api_auth.rest_access).

Mounted only with --api or --nowebui (like /sdapi); credentials: --api-auth, else --gradio-auth
(and --gradio-auth-path), else open. tests/ui/test_rest_access_http.py checks each combination
over HTTP on a real app.
"""

from __future__ import annotations

import itertools

import pytest

from task_scheduler.api.auth import RestAccess, parse_gradio_auth, rest_access

API_AUTH = "robot:r0b0t"
GRADIO_AUTH = "ada:lovelace"


def expected(api: bool, nowebui: bool, api_auth: bool, gradio_auth: bool) -> RestAccess:
    if not (api or nowebui):
        return RestAccess(mounted=False)
    if api_auth:
        return RestAccess(True, {"robot": "r0b0t"}, "--api-auth")
    if gradio_auth:
        return RestAccess(True, {"ada": "lovelace"}, "--gradio-auth")
    return RestAccess(True)


@pytest.mark.parametrize(
    ("api", "nowebui", "api_auth", "gradio_auth"),
    list(itertools.product([False, True], repeat=4)),
)
def test_every_flag_combination(api, nowebui, api_auth, gradio_auth):
    access = rest_access(
        api=api,
        nowebui=nowebui,
        api_auth=API_AUTH if api_auth else None,
        gradio_auth=GRADIO_AUTH if gradio_auth else None,
    )
    assert access == expected(api, nowebui, api_auth, gradio_auth)


@pytest.mark.parametrize("api_auth", [None, API_AUTH])
def test_gradio_auth_path_file_counts_like_gradio_auth(api_auth):
    access = rest_access(
        api=True,
        nowebui=False,
        api_auth=api_auth,
        gradio_auth=None,
        gradio_auth_file="ada:lovelace\n\n  grace:hopper, alan:tur:ing\n",
    )
    if api_auth:
        assert access.credentials == {"robot": "r0b0t"}
    else:
        assert access.source == "--gradio-auth"
        assert access.credentials == {"ada": "lovelace", "grace": "hopper", "alan": "tur:ing"}


def test_gradio_auth_flag_and_file_are_merged_as_forge_does():
    assert parse_gradio_auth("a:1, b:2", "c:3\n") == {"a": "1", "b": "2", "c": "3"}
    assert parse_gradio_auth("", "") is None
    assert parse_gradio_auth(" , ", "\n\n") is None
    assert parse_gradio_auth(None, None) is None


def test_malformed_gradio_auth_is_an_error_not_open_routes():
    with pytest.raises(ValueError, match="gradio-auth"):
        rest_access(api=True, nowebui=False, api_auth=None, gradio_auth="justaname")


def test_without_api_nothing_is_read():
    # Not mounted: a malformed --gradio-auth cannot matter (Forge itself would refuse it).
    assert rest_access(api=False, nowebui=False, api_auth="x", gradio_auth="y") == RestAccess(
        mounted=False
    )
