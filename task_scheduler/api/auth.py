"""Who may use the /task-scheduler routes: whether they exist, and their HTTP Basic check.

`rest_access` decides from Forge's command-line flags (the rule is in its docstring and the
README's Security section). Forge keeps no reachable reference to its own auth dependency, so
the check is re-implemented: credential pairs compared in constant time.
"""

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass
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


def parse_gradio_auth(value: str | None, file_text: str | None = None) -> dict[str, str] | None:
    """Forge's ``--gradio-auth`` pairs plus those in the ``--gradio-auth-path`` file's text.

    Read as Forge's ``get_gradio_auth_creds`` reads them: pairs separated by commas (and, in
    the file, by lines), blanks skipped, split at the first ':'. None when there is none; a
    pair without ':' (which Gradio would refuse too) is a ValueError.
    """
    pieces = (value or "").split(",")
    for line in (file_text or "").splitlines():
        pieces += line.strip().split(",")
    credentials = {}
    for piece in pieces:
        if not piece.strip():
            continue
        user, sep, password = piece.strip().partition(":")
        if not sep:
            raise ValueError("--gradio-auth: expected user:password pairs separated by commas")
        credentials[user] = password
    return credentials or None


@dataclass(frozen=True)
class RestAccess:
    """Whether the REST routes are mounted and, if they need any, which credentials."""

    mounted: bool
    credentials: dict[str, str] | None = None
    source: str = ""  # the flag the credentials come from, for the log: "--api-auth", ...

    def describe(self) -> str:
        if not self.mounted:
            return "not mounted (start Forge with --api or --nowebui to use them)"
        if self.credentials is None:
            return "open (no --api-auth or --gradio-auth)"
        return f"require HTTP Basic credentials from {self.source}"


def rest_access(
    *,
    api: bool,
    nowebui: bool,
    api_auth: str | None,
    gradio_auth: str | None,
    gradio_auth_file: str | None = None,
) -> RestAccess:
    """The REST routes' rule, from Forge's flags (``gradio_auth_file``: that file's text).

    - Mounted only with --api or --nowebui, like Forge's own /sdapi routes.
    - Credentials: the --api-auth pairs if given; else the --gradio-auth (and
      --gradio-auth-path) pairs, so a login-protected Forge never serves its queue to
      strangers; else none (open, as /sdapi is).
    Malformed pairs raise ValueError (the caller then leaves the routes unmounted).
    """
    if not (api or nowebui):
        return RestAccess(mounted=False)
    api_credentials = parse_api_auth(api_auth)
    if api_credentials is not None:
        return RestAccess(True, api_credentials, "--api-auth")
    gradio_credentials = parse_gradio_auth(gradio_auth, gradio_auth_file)
    if gradio_credentials is not None:
        return RestAccess(True, gradio_credentials, "--gradio-auth")
    return RestAccess(True)


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
    """A FastAPI dependency answering 401 unless the request carries valid Basic credentials;
    it records their user on the request (`request_user`)."""
    security = _Utf8Basic(
        scheme_name="HTTPBasic",
        auto_error=False,
        description="Forge's --api-auth (else --gradio-auth) credentials.",
    )
    frozen = dict(credentials)

    # Annotations are evaluated now (no `from __future__ import annotations` in this module):
    # FastAPI must see `Depends(security)`, which refers to a local.
    def require_credentials(
        request: Request,
        given: Annotated[HTTPBasicCredentials | None, Depends(security)],
    ) -> None:
        if given is None or not credentials_match(frozen, given.username, given.password):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Incorrect username or password",
                headers={"WWW-Authenticate": "Basic"},
            )
        request.state.task_scheduler_user = given.username  # the tasks' owner (api/owners.py)

    return require_credentials


def request_user(request: Request) -> str | None:
    """The user whose credentials `basic_auth` accepted for this request; None without auth."""
    return getattr(request.state, "task_scheduler_user", None)
