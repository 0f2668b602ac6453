"""How the REST routes answer errors: the queue's exceptions as status codes, and FastAPI's
own 422s without the input echoed back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ..core.models import TaskNotFoundError, TaskStateError
from ..core.queue_groups import GroupNotFoundError, GroupStateError
from .limits import QueueFullError
from .payload import FieldError


class ValidationSafeRoute(APIRoute):
    """Answers FastAPI's own 422s without echoing the input back.

    FastAPI's default reply repeats each bad value; a NaN there makes the reply itself fail
    (a 500), and a bad base64 image would be sent back whole. Scoped to our routes only.
    """

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                detail = [
                    {"loc": list(e["loc"]), "msg": str(e["msg"]), "type": str(e["type"])}
                    for e in error.errors()
                ]
                return JSONResponse(status_code=422, content={"detail": detail})

        return route_handler


@contextmanager
def http_errors(before: str | None = None) -> Iterator[None]:
    """Map the queue's exceptions to status codes; `before` names the move target's id."""
    try:
        yield
    except (TaskNotFoundError, GroupNotFoundError) as error:
        if isinstance(error, TaskNotFoundError) and before is not None and error.task_id == before:
            raise unprocessable(("body", "before"), str(error)) from None
        raise HTTPException(404, str(error)) from None
    except (TaskStateError, GroupStateError) as error:
        raise HTTPException(409, str(error)) from None
    except QueueFullError as error:  # past "most pending tasks"
        raise HTTPException(429, str(error)) from None
    except FieldError as error:
        raise unprocessable(("body", *error.loc), error.message) from None
    except ValueError as error:  # the queue's own checks say "field: message"
        field_name, sep, message = str(error).partition(": ")
        loc = ("body", field_name) if sep else ("body",)
        raise unprocessable(loc, message if sep else str(error)) from None


def unprocessable(loc: tuple[str | int, ...], message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors: {"detail": [{loc, msg, type}]}."""
    return HTTPException(422, [{"loc": list(loc), "msg": message, "type": "value_error"}])
