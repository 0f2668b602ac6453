"""The callback host allow-list (Settings: "Callback URLs may only reach these hosts").

Off by default (empty): any host Forge's own local-address rule lets through. When set, a
callback URL must name one of the listed hosts: ``name`` allows any port of that host,
``name:port`` only that port (a URL without a port means 80 for http, 443 for https), and
IPv6 addresses are written in brackets (``[2001:db8::1]:8080``). Names compare without case
and without a trailing dot, international names in their ASCII (IDNA) form.

Checked when a task is queued, edited or imported (422 naming `callback_url`) and again before
every delivery attempt, so a list tightened later also stops callbacks already owed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SETTING_LABEL = "Callback URLs may only reach these hosts"


class HostNotAllowedError(ValueError):
    """The callback URL's host is not on the allow-list."""


def parse_hosts(text: str) -> set[tuple[str, int | None]]:
    """The allow-list as (host, port or None for any port); ValueError for a bad entry."""
    allowed: set[tuple[str, int | None]] = set()
    for entry in (part.strip() for part in text.replace("\n", ",").split(",")):
        if not entry:
            continue
        parts = urlsplit(f"//{entry}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{entry!r}: the port must be a number from 0 to 65535") from None
        host = parts.hostname
        if not host or parts.path or parts.username is not None or parts.query:
            raise ValueError(f"{entry!r}: give a host name or host:port")
        allowed.add((_normal(host), port))
    return allowed


def is_allowed(url: str, allowed_text: str) -> bool:
    """Whether `url` may be called under the allow-list `allowed_text` (empty: any URL).
    An entry that cannot be read allows nothing (the list only ever narrows)."""
    if not allowed_text.strip():
        return True
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    host = _normal(parts.hostname or "")
    allowed = set()
    for entry in allowed_text.replace("\n", ",").split(","):
        try:
            allowed |= parse_hosts(entry)
        except ValueError:
            continue
    return (host, None) in allowed or (host, port) in allowed


def check_allowed(url: str | None, allowed_text: str) -> None:
    """Raise HostNotAllowedError ("callback_url: ...") unless `url` is allowed (or empty)."""
    if url and not is_allowed(url, allowed_text):
        host = urlsplit(url).netloc.rpartition("@")[2]
        raise HostNotAllowedError(  # the list itself is not told: it may name LAN hosts
            f"callback_url: host {host!r} is not on the callback host allow-list "
            f"(Settings > Task Scheduler > {SETTING_LABEL})"
        )


def _normal(host: str) -> str:
    name = host.rstrip(".").lower()
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name
