"""REST routes for importing another queue extension's tasks (see peers/importer.py).

GET lists the databases the server itself found in Forge's extensions folder; POST imports one
of them by its id. No request can name a file: a path never travels over HTTP, so these routes
cannot be used to read anything else on the server (other files: the command line).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from ..core.services import Services
from ..peers.bounds import PeerSourceTooLarge
from ..peers.importer import ImportReport, import_source
from ..peers.sources import PeerSource, PeerSourceError
from . import owners
from .auth import request_user
from .limits import QueueFullError, check_room
from .peer_schemas import PeerImportOut, PeerImportRequest, PeerSourcesOut
from .schemas import ErrorOut


def add_routes(router: APIRouter, services: Services) -> None:
    """Add GET and POST /import/peer to `router` (same auth and checks as its other routes)."""

    @router.get(
        "/import/peer",
        response_model=PeerSourcesOut,
        summary="Other queue extensions' databases that can be imported",
    )
    def list_peer_sources():
        """Databases of SachiraChin's sd-webui-forge-task-scheduler and of Agent Scheduler
        found in Forge's extensions folder, with how many tasks each holds."""
        return {"sources": [source_view(s) for s in services.find_peers()]}

    @router.post(
        "/import/peer",
        status_code=201,
        response_model=PeerImportOut,
        responses={
            404: {"model": ErrorOut, "description": "No detected source has this id."},
            409: {"model": ErrorOut, "description": "The source can no longer be read."},
            413: {"model": ErrorOut, "description": "Too many or too large tasks at once."},
            429: {"model": ErrorOut, "description": "Too many pending tasks (Settings)."},
        },
        summary="Import another queue extension's tasks",
        dependencies=[owners.control(services, "import tasks")],
    )
    def import_peer(body: PeerImportRequest, request: Request):
        """Queues the other extension's pending tasks in its order (and, with
        `include_history`, its finished tasks as history): all of them or none. Tasks
        imported before are not added again. The report lists every task: imported (with
        what was not carried over), skipped (with the reason) or already imported."""
        source = detected_source(services, body.source)
        if source is None:
            raise HTTPException(404, f"no detected source has the id {body.source!r}")
        try:
            report = import_detected(
                services, source, body.include_history, owner=request_user(request)
            )
        except PeerSourceTooLarge as error:
            raise HTTPException(413, str(error)) from None
        except PeerSourceError as error:
            raise HTTPException(409, str(error)) from None
        except QueueFullError as error:
            raise HTTPException(429, str(error)) from None
        return report.to_dict()


def detected_source(services: Services, source_id: str) -> PeerSource | None:
    """The database found in Forge's extensions folder with this id, if it is still there."""
    return next((s for s in services.find_peers() if s.id == source_id), None)


def import_detected(
    services: Services, source: PeerSource, include_history: bool, owner: str | None = None
) -> ImportReport:
    """Import a detected source, refusing past the "most pending tasks" setting (as enqueues
    do); the tasks belong to `owner`. Raises PeerSourceError (unreadable) or QueueFullError
    (no room)."""
    limit = services.settings().max_pending
    return import_source(
        services.queue,
        services.files,
        services.catalog(),
        source,
        include_history,
        check_room=lambda adding: check_room(services.queue.counts()["pending"], adding, limit),
        owner=owner,
    )


def source_view(source: PeerSource) -> dict[str, object]:
    return {
        "id": source.id,
        "kind": source.kind,
        "label": source.label,
        "folder": source.folder,
        "pending": source.pending,
        "history": source.history,
    }
