"""The tab's "Import from another queue" actions (see peer_import.py).

`peer_sources` lists the databases the server found in Forge's extensions folder; `peer_import`
imports one of them by its id and answers with the report. As over REST, the browser names a
detected source by id only, never a path.
"""

from __future__ import annotations

from typing import Any

from ..api_limits import QueueFullError
from ..api_peer import room_checker
from ..peer_import import import_source
from ..peer_sources import PeerSourceError
from ..services import Services


def sources(services: Services, _request: dict) -> dict[str, Any]:
    found = services.find_peers()
    return {
        "message": f"{len(found)} other queue database{'s' if len(found) != 1 else ''} found.",
        "sources": [
            {
                "id": s.id,
                "kind": s.kind,
                "label": s.label,
                "folder": s.folder,
                "pending": s.pending,
                "history": s.history,
            }
            for s in found
        ],
    }


def import_peer(services: Services, request: dict) -> dict[str, Any]:
    source_id = request.get("source")
    if not isinstance(source_id, str) or not source_id:
        raise ValueError("source: choose one of the databases found")
    include_history = request.get("include_history", False)
    if not isinstance(include_history, bool):
        raise ValueError("include_history: must be true or false")
    source = next((s for s in services.find_peers() if s.id == source_id), None)
    if source is None:
        raise ValueError("source: that database is no longer there; look again")
    try:
        report = import_source(
            services.queue,
            services.files,
            services.catalog(),
            source,
            include_history,
            check_room=room_checker(services),
        )
    except PeerSourceError as error:
        raise ValueError(f"source: {error}") from None
    except QueueFullError as error:
        raise ValueError(f"Nothing imported: {error}.") from None
    already = f", {report.already_imported} imported before" if report.already_imported else ""
    message = (
        f"Imported {report.imported} task{'s' if report.imported != 1 else ''} from "
        f"{source.label}; {report.skipped} skipped{already}."
    )
    return {"message": message, "report": report.to_dict()}


ACTIONS = {"peer_sources": sources, "peer_import": import_peer}
