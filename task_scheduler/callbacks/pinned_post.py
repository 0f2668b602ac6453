"""One JSON POST sent to an address chosen in advance, for callbacks to checked addresses.

The callback sender resolves the URL's host, checks every address, then must connect to one
of those very addresses: a second lookup could answer differently (DNS rebinding). httpx can
only do that while verifying TLS for the URL's host through httpcore's `sni_hostname`, which the
httpcore Forge ships (0.15) lacks; so this uses http.client with a `connect()` that opens the
socket to the given address and wraps TLS with the URL's host name (SNI and certificate check).

Errors are raised as httpx's, so the outcome stored on the task reads the same either way.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

_MAX_REPLY = 64 * 1024  # the answer is not used: read a little so the receiver is not cut off


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address
        self.tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def post_json(
    url: str,
    address: str,
    body: Any,
    headers: dict[str, str],
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> int:
    """POST `body` as JSON to `url`, connecting to `address`; return the HTTP status.

    The Host header, TLS SNI and certificate check use the URL's host; credentials in the URL
    become Basic auth (as httpx does). Redirects are not followed.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = host.encode("idna").decode("ascii") if not host.isascii() else host
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    if https:
        context = ssl_context or ssl.create_default_context()
        connection: http.client.HTTPConnection = _PinnedHTTPS(host, port, address, timeout, context)
    else:
        connection = _PinnedHTTP(host, port, address, timeout)
    sent = {"Content-Type": "application/json", "User-Agent": "task-scheduler", **headers}
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        sent["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    payload = json.dumps(body).encode("utf-8")
    try:
        try:
            connection.connect()
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out") from None
        except OSError as error:  # refused, unreachable, TLS handshake or certificate
            raise httpx.ConnectError(str(error)) from None
        try:
            connection.request("POST", path, body=payload, headers=sent)
            reply = connection.getresponse()
            reply.read(_MAX_REPLY)
            return reply.status
        except TimeoutError:
            raise httpx.ReadTimeout("timed out") from None
        except (OSError, http.client.HTTPException) as error:
            raise httpx.RemoteProtocolError(str(error) or type(error).__name__) from None
    finally:
        connection.close()
