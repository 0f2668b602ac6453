"""Refusing cross-site requests (CSRF), for the REST routes and the tab's Gradio events.

A web page the user visits can make the browser send "simple" requests to Forge: a form POST
(form or text/plain body) or a no-cors fetch (any body, no Content-Type). They carry the
user's cookies and need no preflight. A state-changing request (POST, PUT, PATCH, DELETE) is
therefore refused when:

- the browser says it comes from another site (``Sec-Fetch-Site: cross-site`` or
  ``same-site``, e.g. another port of the same host), or
- it carries an ``Origin`` ("null" included) whose host:port is not the request's own
  ``Host`` (or ``X-Forwarded-Host``), unless the browser vouches ``Sec-Fetch-Site:
  same-origin`` (a proxy may have rewritten Host); or
- it has a body that is not ``application/json`` (a form can never send that type).

Any request, reads included, with a foreign ``Origin`` is refused too: that header comes with
a script's cross-origin fetch, and Gradio's CORS middleware lets any origin read the answer
when Forge listens on a non-local address. Navigations and <img> loads carry no Origin.

Browsers send ``Origin`` on every POST/PUT/PATCH/DELETE, so a body-less request (``curl -X POST
.../start``) without ``Origin`` can only come from a non-browser client, and stays allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = (80, 443)
CROSS_SITE = "cross-site request refused"
NOT_JSON = "Content-Type must be application/json"


def refusal(method: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
    """None if the request may proceed, else (HTTP status, reason): 403 cross-site, 415 not JSON.

    `headers`: any mapping of header names (any case) to values.
    """
    headers = {str(name).lower(): str(value) for name, value in headers.items()}
    changes_state = method.upper() in STATE_CHANGING
    fetch_site = headers.get("sec-fetch-site", "").lower()
    if changes_state and fetch_site in ("cross-site", "same-site"):
        return 403, f"{CROSS_SITE} (Sec-Fetch-Site: {fetch_site})"
    origin = headers.get("origin")
    if origin is not None and fetch_site not in ("same-origin", "none"):
        own = {_host_port(headers.get("host")), _host_port(headers.get("x-forwarded-host"))}
        if _origin_host_port(origin) not in own - {None}:
            return 403, f"{CROSS_SITE} (Origin {origin[:200]!r} is not this server)"
    if not changes_state:
        return None
    content_type = headers.get("content-type")
    if content_type:
        if content_type.split(";")[0].strip().lower() != "application/json":
            return 415, NOT_JSON
    elif _has_body(headers):
        return 415, NOT_JSON
    return None


async def require_same_origin_json(request: Request) -> None:
    """FastAPI dependency: raise 403/415 for a refused request (see `refusal`)."""
    refused = refusal(request.method, request.headers)
    if refused is not None:
        raise HTTPException(status_code=refused[0], detail=refused[1])


def _has_body(headers: Mapping[str, str]) -> bool:
    if headers.get("transfer-encoding"):
        return True
    length = headers.get("content-length")
    try:
        return length is not None and int(length) > 0
    except ValueError:
        return True


def _origin_host_port(origin: str) -> str | None:
    """'https://Example.com:443' -> 'example.com'; None for 'null' or anything unparsable."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname.lower()
    return host if port is None or port in _DEFAULT_PORTS else f"{host}:{port}"


def _host_port(value: str | None) -> str | None:
    """A Host header as host[:port], lower case, ports 80 and 443 dropped (as in Origin: the
    scheme is not known here, so both count as default)."""
    if not value:
        return None
    value = value.split(",")[0].strip().lower()  # X-Forwarded-Host may list several
    host, sep, port = value.rpartition(":")
    if sep and "]" not in port and port.isdigit() and int(port) in _DEFAULT_PORTS:
        return host
    return value
