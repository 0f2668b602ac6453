"""REST routes for moving pending tasks between Forges: GET /export and POST /import
(the document: core/portable.py)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request

from ..core import portable, views
from ..core.services import Services
from . import owners
from .auth import request_user
from .errors import http_errors
from .schemas import ExportDocument, Imported


def add_routes(router: APIRouter, services: Services, base_url: Callable[[Request], str]) -> None:
    """Add the export and import routes to the API's router (its auth, limits, faults)."""

    @router.get(
        "/export",
        response_model=ExportDocument,
        summary="Pending tasks as JSON",
        dependencies=[owners.exporter(services)],
    )
    def export_tasks():
        """Pending tasks in run order, their input images embedded, for POST /import."""
        return portable.export_document(services)

    @router.post(
        "/import",
        status_code=201,
        response_model=Imported,
        summary="Queue exported tasks",
        dependencies=[owners.control(services, "import tasks")],
    )
    def import_tasks(document: ExportDocument, request: Request):
        """Validates the whole document, then queues all its tasks or none; they belong to
        the user who imports."""
        url = base_url(request)
        with http_errors():
            tasks = portable.import_document(services, document, url, request_user(request))
        imported = [views.task_view(t, base_url=url, detail=True) for t in tasks]
        return Imported(tasks=owners.shaped(imported, request, services))
