"""Limits of the REST routes: 413 before an oversize body is read whole, 429 when the queue
already holds the most pending tasks the settings allow.

A body is refused from its Content-Length header before any of it is read, and a body sent
without one (chunked) is counted while it streams in and refused as soon as it passes the
limit, so memory never holds more than the limit; a JSON body is then measured before it is
parsed (api/json_body.py), so its objects cannot take many times its size either. Limits are read
for each request (the settings can change while Forge runs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from .json_body import json_bounded
from .schemas import ErrorOut

LIMIT_RESPONSES = {
    413: {"model": ErrorOut, "description": "The request body is larger than Settings allow."},
    429: {"model": ErrorOut, "description": "The queue holds the most pending tasks allowed."},
}


class QueueFullError(RuntimeError):
    """Queueing more tasks would pass the "most pending tasks" setting (a RuntimeError: the
    Queue button shows those as its error notice)."""


def check_room(pending: int, adding: int, max_pending: int) -> None:
    """Raise QueueFullError unless `adding` tasks fit beside `pending` ones.

    Checked before the insert, so concurrent requests may pass the limit by a few tasks: it
    stops a flood, it is not an exact quota.
    """
    if pending + adding > max_pending:
        raise QueueFullError(
            f"the queue already holds {pending:,} pending tasks and takes at most "
            f"{max_pending:,} (Settings > Task Scheduler); run or delete some first"
        )


class BodyTooLarge(HTTPException):
    """Raised while a body streams in, once it passes the limit (FastAPI passes it on as is)."""

    def __init__(self, limit: int):
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return (
        f"request body is larger than {limit:,} bytes ({limit / 2**20:g} MB), the limit set "
        "in Settings > Task Scheduler"
    )


def body_limited(route_class: type[APIRoute], max_bytes: Callable[[], int]) -> type[APIRoute]:
    """`route_class` whose routes refuse bodies over `max_bytes()` with 413, and JSON bodies
    with too many values (413) or too deep (422) before parsing them (api/json_body.py)."""

    class BodyLimitedRoute(json_bounded(route_class)):  # type: ignore[misc]
        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            handler = super().get_route_handler()

            async def route_handler(request: Request) -> Response:
                limit = max_bytes()
                declared = request.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    return JSONResponse({"detail": too_large_message(limit)}, status_code=413)
                limited = Request(request.scope, receive=_counting(request.receive, limit))
                try:
                    return await handler(limited)
                except BodyTooLarge as error:
                    return JSONResponse({"detail": error.detail}, status_code=413)

            return route_handler

    return BodyLimitedRoute


def _counting(receive: Receive, limit: int) -> Receive:
    """`receive` that raises BodyTooLarge once the body chunks add up to more than `limit`."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return limited_receive
