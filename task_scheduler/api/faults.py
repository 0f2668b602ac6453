"""REST answers for faults of the data folder and the task database (store/faults.py).

A route that meets a full disk answers 507, one that meets a read-only folder, a database
locked by another program or a damaged / unreadable database answers 503; `detail` says
what is wrong, where (the folder or the file) and that nothing was stored. Wrapped around
every /task-scheduler route by its route class, so a new route is covered too, and so a
store fault is never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from ..store.faults import fault_of
from .schemas import ErrorOut

log = logging.getLogger("task_scheduler")

FAULT_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorOut,
        "description": "The task store is unavailable: its data folder is read-only, the "
        "database is locked by another program or damaged. Nothing was stored.",
    },
    507: {
        "model": ErrorOut,
        "description": "Not enough disk space for the task data folder. Nothing was stored.",
    },
}
RETRY_AFTER_SECONDS = "5"


def fault_answering(route_class: type[APIRoute], db_path: Callable[[], str]) -> type[APIRoute]:
    """`route_class` whose routes answer a store fault with 507 / 503 and its message."""

    class FaultAnsweringRoute(route_class):  # type: ignore[misc, valid-type]
        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            handler = super().get_route_handler()

            async def route_handler(request: Request) -> Response:
                try:
                    return await handler(request)
                except Exception as error:  # a fault of either back-end, else re-raised
                    fault = fault_of(error, db_path())
                    if fault is None:
                        raise
                    log.warning("task_scheduler: %s %s: %s", request.method, request.url, fault)
                    return JSONResponse(
                        {"detail": str(fault)},
                        status_code=fault.status,
                        headers={"Retry-After": RETRY_AFTER_SECONDS},
                    )

            return route_handler

    return FaultAnsweringRoute
