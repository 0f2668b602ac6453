"""Other queue extensions that clash with ours, found in their files and in the web app's routes.

Forge-free: `scan_extensions` reads other extensions' folders (what Forge's extension list
names), `route_conflicts` reads a Starlette/FastAPI route list, and `put_routes_first` makes our
routes match before anyone else's. `ConflictReport` holds what was found for the API, the tab
and the log; task_scheduler/forge/conflicts.py feeds it from Forge.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger("task_scheduler")

OUR_PREFIX = "/task-scheduler"
QUEUE_PREFIXES = ("/task-scheduler/", "/agent-scheduler/")
TAB_TITLE = "Task Queue"
# Names ours puts on the page; the same name in another extension's files is a clash.
OUR_ELEMENT_IDS = (
    "task_scheduler_app",
    "tab_task_scheduler",
    "task_scheduler_txt2img_queue",
    "task_scheduler_img2img_queue",
)
OUR_JS_GLOBALS = ("taskQueueExtensionForForge",)
ADVICE = (
    "Disable '{name}' in Forge's Extensions tab (untick it, 'Apply and restart UI'), then "
    "restart Forge. To keep its queue, first use 'Import from another queue…' in our Task Queue "
    "tab."
)
UNKNOWN = "an unknown extension"
ADVICE_UNKNOWN = (
    "Find the extension whose code is in {folder}, disable it in Forge's Extensions tab, then "
    "restart Forge."
)

_SKIP_DIRS = {".git", "node_modules", "__pycache__", "venv", ".venv", "models", "repositories"}
_MAX_DEPTH = 3  # the extension folder, scripts/, and one package level below it
_MAX_FILE_BYTES = 2_000_000
_MAX_FILES = 400
_TEXT_SUFFIXES = {".py", ".js", ".mjs", ".css"}


@dataclass(frozen=True)
class Conflict:
    """One clash: which extension, where it is installed, what clashes, what to do."""

    extension: str
    folder: str
    what: str
    advice: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class InstalledExtension:
    """An extension as Forge lists it (`modules.extensions.active()`)."""

    name: str
    path: str


def advice_for(name: str) -> str:
    return ADVICE.format(name=name)


def scan_extensions(extensions: Iterable[InstalledExtension], own_dir: str) -> list[Conflict]:
    """Clashes found in the files of every extension except the one in `own_dir`."""
    own = _real(own_dir)
    found: list[Conflict] = []
    for extension in extensions:
        if _real(extension.path) == own or not os.path.isdir(extension.path):
            continue
        for what in clashes_in_folder(extension.path):
            found.append(Conflict(extension.name, extension.path, what, advice_for(extension.name)))
    return found


def clashes_in_folder(folder: str) -> list[str]:
    """What in this extension folder clashes with ours, one sentence each (may be empty)."""
    texts = {"py": "", "js": "", "css": ""}
    for path in _text_files(folder):
        kind = "js" if path.endswith((".js", ".mjs")) else os.path.splitext(path)[1][1:]
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                texts[kind] += file.read(_MAX_FILE_BYTES) + "\n"
        except OSError:
            continue
    found = []
    if os.path.isfile(os.path.join(folder, "task_scheduler", "__init__.py")) or os.path.isfile(
        os.path.join(folder, "task_scheduler.py")
    ):
        found.append("a top-level Python package named 'task_scheduler', the same as ours")
    for prefix in QUEUE_PREFIXES:
        if re.search(r"""["']""" + re.escape(prefix), texts["py"]):
            found.append(f"API routes under {prefix}")
    if re.search(r"""["']""" + re.escape(TAB_TITLE) + r"""["']""", texts["py"]):
        found.append(f"a '{TAB_TITLE}' tab")
    page = texts["py"] + texts["js"] + texts["css"]
    ids = [name for name in OUR_ELEMENT_IDS if re.search(rf"\b{name}\b", page)]
    if ids:
        found.append("the same element ids as ours: " + ", ".join(ids))
    names = [name for name in OUR_JS_GLOBALS if re.search(rf"\b{name}\b", texts["js"])]
    if names:
        found.append("the same JavaScript globals as ours: " + ", ".join(names))
    return found


def _text_files(folder: str) -> list[str]:
    files: list[str] = []
    base_depth = folder.rstrip(os.sep).count(os.sep)
    for root, dirs, names in os.walk(folder):
        depth = root.rstrip(os.sep).count(os.sep) - base_depth
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        if depth + 1 >= _MAX_DEPTH:
            dirs[:] = []
        for name in sorted(names):
            path = os.path.join(root, name)
            if os.path.splitext(name)[1] in _TEXT_SUFFIXES and os.path.isfile(path):
                files.append(path)
                if len(files) >= _MAX_FILES:
                    return files
    return files


# -- routes ------------------------------------------------------------------------------------


def put_routes_first(routes: list[Any], ours: Sequence[Any]) -> bool:
    """Move `ours` to the front of `routes` (in place, keeping their order); True if it moved.

    Starlette answers with the first route that matches, so ours win over any other route with
    the same path, whoever registered first.
    """
    mine = [route for route in routes if any(route is own for own in ours)]
    if _first_are(routes, mine):
        return False
    routes[:] = mine + [route for route in routes if not any(route is own for own in ours)]
    return True


def route_conflicts(
    routes: Sequence[Any],
    ours: Sequence[Any],
    extensions: Iterable[InstalledExtension],
    own_dir: str,
) -> list[Conflict]:
    """Routes under the queue prefixes that are not ours, grouped by the extension owning them.

    The owner is the extension folder holding the endpoint's source file. Routes with the same
    method and path as one of ours are named: only the first registered one would answer.
    """
    folders = [(_real(e.path), e) for e in extensions if _real(e.path) != _real(own_dir)]
    our_keys: set[tuple[str, str]] = set().union(*(_key(route) for route in ours))
    grouped: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for route in routes:
        path = str(getattr(route, "path", ""))
        if any(route is own for own in ours) or not path.startswith(QUEUE_PREFIXES):
            continue
        source = _source_file(route)
        owner = next((e for real, e in folders if _inside(source, real)), None)
        name = owner.name if owner else UNKNOWN
        folder = owner.path if owner else (os.path.dirname(source) if source else "")
        same = bool(_key(route) & our_keys)
        grouped.setdefault((name, folder), []).append((_describe(route), same))
    found = []
    for (name, folder), described in grouped.items():
        sample = ", ".join(text for text, _ in described[:3])
        what = f"registers {len(described)} API route(s) under our queue prefixes ({sample}"
        what += ", …)" if len(described) > 3 else ")"
        same = [text for text, clash in described if clash]
        if same:
            what += "; the same as ours: " + ", ".join(same) + " (ours are placed first)"
        if not ours and any(" " + OUR_PREFIX + "/" in text for text, _ in described):
            what += "; our REST routes are not mounted (no --api), so it answers " + OUR_PREFIX
        advice = advice_for(name) if name != UNKNOWN else ADVICE_UNKNOWN.format(folder=folder)
        found.append(Conflict(name, folder, what, advice))
    return found


def _key(route: Any) -> set[tuple[str, str]]:
    return {(method, str(getattr(route, "path", ""))) for method in getattr(route, "methods", ())}


def _describe(route: Any) -> str:
    methods = "/".join(sorted(m for m in getattr(route, "methods", ()) if m != "HEAD"))
    return f"{methods or 'ANY'} {getattr(route, 'path', '')}".strip()


def _source_file(route: Any) -> str:
    endpoint = getattr(route, "endpoint", None)
    endpoint = getattr(endpoint, "__wrapped__", endpoint)
    code = getattr(endpoint, "__code__", None)
    return _real(code.co_filename) if code is not None else ""


def _inside(path: str, folder: str) -> bool:
    return bool(path) and bool(folder) and path.startswith(folder.rstrip(os.sep) + os.sep)


def _real(path: str) -> str:
    return os.path.realpath(path) if path else ""


# -- what the API, the tab and the log show ------------------------------------------------------


class ConflictReport:
    """Conflicts known so far: from other extensions' files and from the app's routes.

    `current()` re-reads the routes when their number changed (an extension may add routes
    after ours), moving ours to the front again if someone put theirs before them, and logs
    each conflict once.
    """

    def __init__(self, own_dir: str, logged: set[Conflict] | None = None):
        self.own_dir = own_dir
        self._lock = threading.Lock()
        self._from_files: list[Conflict] = []
        self._from_routes: list[Conflict] = []
        self._routes: Callable[[], list[Any]] | None = None
        self._ours: list[Any] = []
        self._extensions: list[InstalledExtension] = []
        self._seen_routes = -1
        self._logged = logged if logged is not None else set()  # shared across Reload UI

    def scan(self, extensions: Iterable[InstalledExtension]) -> list[Conflict]:
        """Read the other extensions' folders (call when Forge loads our scripts)."""
        self._extensions = list(extensions)
        found = scan_extensions(self._extensions, self.own_dir)
        with self._lock:
            self._from_files = found
        self._log(found)
        return found

    def watch_routes(self, routes: Callable[[], list[Any]], ours: Sequence[Any]) -> None:
        """Check the app's route list (`routes()` returns the live list) now and on each read."""
        with self._lock:
            self._routes = routes
            self._ours = list(ours)
            self._seen_routes = -1
        self.current()

    def current(self) -> list[dict[str, str]]:
        """Every conflict as {extension, folder, what, advice}, file clashes first."""
        with self._lock:
            if self._routes is not None:
                try:
                    self._check_routes(self._routes())
                except Exception:  # a strange route must not break the queue's status
                    log.exception("task_scheduler: could not check the app's routes")
                    self._routes = None
            found = self._from_files + self._from_routes
        self._log(found)
        return [conflict.as_dict() for conflict in found]

    def _check_routes(self, routes: list[Any]) -> None:
        if len(routes) == self._seen_routes and _first_are(routes, self._ours):
            return
        if put_routes_first(routes, self._ours) and self._seen_routes >= 0:
            log.warning(
                "task_scheduler: another extension put its routes before ours; ours answer "
                "%s/... again",
                OUR_PREFIX,
            )
        self._from_routes = route_conflicts(routes, self._ours, self._extensions, self.own_dir)
        self._seen_routes = len(routes)

    def _log(self, found: Iterable[Conflict]) -> None:
        """One warning per extension for the conflicts not logged yet (what clashes, advice)."""
        new: dict[tuple[str, str], list[Conflict]] = {}
        for conflict in found:
            if conflict not in self._logged:
                self._logged.add(conflict)
                new.setdefault((conflict.extension, conflict.folder), []).append(conflict)
        for (name, folder), conflicts in new.items():
            log.warning(
                "task_scheduler: CONFLICT with the extension '%s' (%s): %s. %s",
                name,
                folder,
                "; ".join(conflict.what for conflict in conflicts),
                conflicts[0].advice,
            )


def _first_are(routes: Sequence[Any], ours: Sequence[Any]) -> bool:
    return len(routes) >= len(ours) and all(
        a is b for a, b in zip(routes[: len(ours)], ours, strict=True)
    )


def conflicts_of(services: Any) -> list[dict[str, str]]:
    """The conflicts the services know of ([] when nothing watches for them, as in tests)."""
    report = getattr(services, "extras", {}).get("conflicts")
    return report.current() if report is not None else []
