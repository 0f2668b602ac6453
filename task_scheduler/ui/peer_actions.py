"""The tab's "Import from another queue" actions (see peers/importer.py).

`peer_sources` lists the databases the server found in Forge's extensions folder; `peer_import`
imports one of them by its id and answers with the report. As over REST, the browser names a
detected source by id only, never a path.
"""

from __future__ import annotations

from typing import Any

from ..api.limits import QueueFullError
from ..api.peer import detected_source, import_detected, source_view
from ..core.services import Services
from ..peers.sources import PeerSourceError


def sources(services: Services, _request: dict) -> dict[str, Any]:
    found = services.find_peers()
    return {
        "message": f"{len(found)} other queue database{'s' if len(found) != 1 else ''} found.",
        "sources": [source_view(s) for s in found],
    }


def import_peer(services: Services, request: dict) -> dict[str, Any]:
    source_id = request.get("source")
    if not isinstance(source_id, str) or not source_id:
        raise ValueError("source: choose one of the databases found")
    include_history = request.get("include_history", False)
    if not isinstance(include_history, bool):
        raise ValueError("include_history: must be true or false")
    source = detected_source(services, source_id)
    if source is None:
        raise ValueError("source: that database is no longer there; look again")
    try:
        report = import_detected(services, source, include_history, owner=request.get("_user"))
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
