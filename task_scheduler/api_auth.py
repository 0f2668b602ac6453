"""HTTP Basic auth for the /task-scheduler routes, the same check Forge applies with --api-auth.

Forge keeps no reachable reference to its own auth dependency, so the check is re-implemented:
the credentials are Forge's ``--api-auth user:pass,...`` pairs, compared in constant time.
"""

import base64
import binascii
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials


def parse_api_auth(value: str | None) -> dict[str, str] | None:
    """``"alice:pw1,bob:pw2"`` (Forge's --api-auth) -> {"alice": "pw1", "bob": "pw2"}.

    None or "" means no auth. A password may contain ':' (split at the first one).
    """
    if not value:
        return None
    credentials = {}
    for pair in value.split(","):
        user, sep, password = pair.strip().partition(":")
        if not sep or not user:
            raise ValueError("--api-auth: expected user:password pairs separated by commas")
        credentials[user] = password
    return credentials


def credentials_match(credentials: dict[str, str], username: str, password: str) -> bool:
    """Constant-time check: every stored pair is compared, whatever matches first."""
    given_user, given_password = username.encode(), password.encode()
    matched = False
    for user, secret in credentials.items():
        user_ok = secrets.compare_digest(user.encode(), given_user)
        password_ok = secrets.compare_digest(secret.encode(), given_password)
        matched |= user_ok & password_ok
    return matched


class _Utf8Basic(HTTPBasic):
    """HTTP Basic that reads UTF-8 credentials (RFC 7617); None when absent or malformed.

    FastAPI's own class only decodes ASCII, so a non-ASCII password could never match.
    """

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:
        scheme, _, param = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        username, sep, password = decoded.partition(":")
        if not sep:
            return None
        return HTTPBasicCredentials(username=username, password=password)


def basic_auth(credentials: dict[str, str]) -> Callable[..., None]:
    """A FastAPI dependency answering 401 unless the request carries valid Basic credentials."""
    security = _Utf8Basic(
        scheme_name="HTTPBasic", auto_error=False, description="Forge's --api-auth credentials."
    )
    frozen = dict(credentials)

    # Annotations are evaluated now (no `from __future__ import annotations` in this module):
    # FastAPI must see `Depends(security)`, which refers to a local.
    def require_credentials(
        given: Annotated[HTTPBasicCredentials | None, Depends(security)],
    ) -> None:
        if given is None or not credentials_match(frozen, given.username, given.password):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Incorrect username or password",
                headers={"WWW-Authenticate": "Basic"},
            )

    return require_credentials
