"""The cross-site rule itself (same_origin.refusal): what a browser sends, behind proxies too.

The HTTP tests (tests/ui/test_cross_site_http.py) run it on every route and tab event; these
pin the header cases a real browser or proxy produces.
"""

from __future__ import annotations

import pytest

from task_scheduler.api.same_origin import refusal

HOST = {"Host": "127.0.0.1:7860"}
JSON = {"Content-Type": "application/json", "Content-Length": "2"}


@pytest.mark.parametrize(
    "headers",
    [
        {**HOST, **JSON, "Origin": "http://127.0.0.1:7860"},
        {**HOST, **JSON, "Origin": "http://127.0.0.1:7860", "Sec-Fetch-Site": "same-origin"},
        {**HOST, "Content-Length": "0"},  # curl -X POST .../start
        {**HOST},  # no body at all
        {**HOST, "Content-Type": "application/json; charset=utf-8"},
        # a proxy that rewrites Host: the browser's own verdict counts
        {
            "Host": "127.0.0.1:7860",
            **JSON,
            "Origin": "https://forge.example",
            "Sec-Fetch-Site": "same-origin",
        },
        # a proxy that forwards the public host
        {
            "Host": "127.0.0.1:7860",
            **JSON,
            "Origin": "https://forge.example",
            "X-Forwarded-Host": "forge.example",
        },
        # default ports are implicit in Origin
        {"Host": "forge.example:443", **JSON, "Origin": "https://forge.example"},
        {"Host": "[::1]:7860", **JSON, "Origin": "http://[::1]:7860"},
    ],
)
def test_own_requests_pass(headers):
    for method in ("POST", "PUT", "PATCH", "DELETE", "GET"):
        assert refusal(method, headers) is None, (method, headers)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({**HOST, **JSON, "Origin": "https://evil.example"}, 403),
        ({**HOST, **JSON, "Origin": "null"}, 403),
        ({**HOST, **JSON, "Origin": "http://127.0.0.1:8080"}, 403),  # another local service
        ({**HOST, **JSON, "Origin": "http://localhost:7860"}, 403),  # not the same origin
        ({**HOST, **JSON, "Sec-Fetch-Site": "cross-site"}, 403),
        ({**HOST, **JSON, "Sec-Fetch-Site": "same-site"}, 403),
        ({**HOST, "Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({**HOST, "Content-Type": "multipart/form-data; boundary=x"}, 415),
        ({**HOST, "Content-Type": "text/plain", "Content-Length": "2"}, 415),
        ({**HOST, "Content-Length": "2"}, 415),  # a no-cors fetch with an untyped Blob
        ({**HOST, "Transfer-Encoding": "chunked"}, 415),
    ],
)
def test_cross_site_or_non_json_state_changes_are_refused(headers, status):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert (refusal(method, headers) or (None,))[0] == status, (method, headers)


def test_reads_are_refused_only_for_a_foreign_origin():
    """A cross-origin fetch carries Origin (Gradio's CORS middleware may let it read the
    answer); a navigation or an <img> does not, and stays allowed."""
    assert refusal("GET", {**HOST, "Origin": "https://evil.example"})[0] == 403
    assert refusal("GET", {**HOST, "Sec-Fetch-Site": "cross-site"}) is None  # a link clicked
    assert refusal("GET", {**HOST, "Content-Type": "text/plain"}) is None
