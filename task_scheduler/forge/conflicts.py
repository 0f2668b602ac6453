"""Feeding the conflict report from Forge: its extension list when our scripts load, and the web
app's routes when the app starts (ours are moved in front of everyone else's there)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..peers.conflicts import Conflict, ConflictReport, InstalledExtension

log = logging.getLogger("task_scheduler")

EXTENSION_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Conflicts already written to Forge's log. Module state: this package is imported once per
# process, so Reload UI does not repeat the warnings.
_logged: set[Conflict] = set()


def new_report() -> ConflictReport:
    """A report for this script load, with other extensions' folders already read (and logged).

    Never raises: looking for conflicts must not stop the extension from loading.
    """
    report = ConflictReport(EXTENSION_DIR, _logged)
    try:
        report.scan(installed_extensions())
    except Exception:
        log.exception("task_scheduler: could not look for conflicting extensions")
    return report


def installed_extensions() -> list[InstalledExtension]:
    """The enabled extensions Forge loads, built-in ones left out (none of them is a queue)."""
    from modules import extensions

    return [
        InstalledExtension(str(ext.name), str(ext.path))
        for ext in extensions.active()
        if not getattr(ext, "is_builtin", False)
    ]


@contextmanager
def routes_first(app: Any, services: Any) -> Iterator[None]:
    """Around mounting our API: the routes added inside are ours; put them first and watch.

    Forge runs `on_app_started` callbacks in script load order (extension folders alphabetically),
    so another extension may have registered /task-scheduler/... before us.
    """
    before = list(app.router.routes)
    yield
    try:
        ours = [route for route in app.router.routes if not any(route is old for old in before)]
        report = services.extras.get("conflicts")
        if report is None:
            report = services.extras["conflicts"] = ConflictReport(EXTENSION_DIR, _logged)
        report.watch_routes(lambda: app.router.routes, ours)
    except Exception:
        log.exception("task_scheduler: could not check the web app's routes for conflicts")
