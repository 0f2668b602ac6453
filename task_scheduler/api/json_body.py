"""JSON request bodies parsed with bounded memory and depth (json_bounds.py), for every route.

FastAPI parses a JSON body with plain `json.loads` before a route sees it: a body of tiny
values within the size limit can take twenty times its size in memory, and a list nested
100,000 deep ends as a bare 400 "There was an error parsing the body". The routes' class
parses the body first with `json_bounds.loads_bounded` and hands FastAPI the result (Starlette
keeps a parsed body in `Request._json`), so a body over the limits is refused before any
object is built: 413 for too many values, 422 for too deep, each saying which and the limit.
"""

from __future__ import annotations

import email.message
from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from ..core.json_bounds import JSONTooDeep, JSONTooLarge, loads_bounded


def json_bounded(route_class: type[APIRoute]) -> type[APIRoute]:
    """`route_class` whose routes parse JSON bodies within json_bounds' limits."""

    class JSONBoundedRoute(route_class):  # type: ignore[misc, valid-type]
        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            handler = super().get_route_handler()

            async def route_handler(request: Request) -> Response:
                if _is_json(request.headers.get("content-type")):
                    body = await request.body()
                    if body:
                        try:
                            request._json = loads_bounded(body)
                        except JSONTooLarge as error:
                            return JSONResponse({"detail": f"request body {error}"}, 413)
                        except JSONTooDeep as error:
                            detail = [{"loc": ["body"], "msg": str(error), "type": "too_deep"}]
                            return JSONResponse({"detail": detail}, 422)
                        except ValueError:
                            pass  # not JSON: FastAPI answers with its own 422
                return await handler(request)

            return route_handler

    return JSONBoundedRoute


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI would parse the body as JSON (fastapi/routing.py: no type, or
    application/json or application/*+json)."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")
