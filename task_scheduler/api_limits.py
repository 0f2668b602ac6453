"""The request body limit of the REST routes: 413 before an oversize body is read whole.

A body is refused from its Content-Length header before any of it is read, and a body sent
without one (chunked) is counted while it streams in and refused as soon as it passes the
limit, so memory never holds more than the limit. The limit is read for each request (the
setting can change while Forge runs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from .api_schemas import ErrorOut

TOO_LARGE = {
    413: {
        "model": ErrorOut,
        "description": "The request body is larger than the limit in Settings.",
    }
}


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
    """`route_class` whose routes refuse bodies over `max_bytes()` with 413."""

    class BodyLimitedRoute(route_class):  # type: ignore[misc, valid-type]
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
