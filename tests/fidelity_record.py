"""Records which extension x mode a real-Forge test proved, for the README's fidelity table.

A test opts in with one line, `@pytest.mark.fidelity("FreeU", "txt2img")` (modes: txt2img,
img2img, api; stack several markers when one test proves several). When the run uses a real
Forge (FORGE_DIR set), each marked test's outcome is merged into `tests/forge_env/fidelity.json`
(or $FIDELITY_JSON) as soon as it is known; tests/forge_env/fidelity_table.py renders that
file into README.md. Without FORGE_DIR nothing is written, so a CI run without Forge never
overwrites what a real run proved.

Outcomes: "identical" (passed), "differs" (a comparison failed), "error" (anything else
failed: set-up, a time-out, a crash), "not repeatable" (xfail: Forge itself gives different
results; the reason is kept), "skipped" (with the reason). A test may add a short note with
the `fidelity_note` fixture.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

MODES = ("txt2img", "img2img", "api")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_JSON = REPO / "tests" / "forge_env" / "fidelity.json"
NOTE_KEY = pytest.StashKey[list]()
RECORDS_KEY = pytest.StashKey[dict]()  # this run: Forge commit and start time


def record_path() -> Path:
    value = os.environ.get("FIDELITY_JSON")
    return Path(value) if value else DEFAULT_JSON


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fidelity(extension, mode): the test proves that extension replays exactly in that "
        "mode (txt2img, img2img, api); recorded for the README's fidelity table",
    )
    config.stash[RECORDS_KEY] = run_info()


@pytest.fixture
def fidelity_note(request) -> Any:
    """Call with a short text (e.g. how much the extension changed the image) to keep it in
    the record of every fidelity marker of this test."""
    notes: list[str] = request.node.stash.setdefault(NOTE_KEY, [])
    return notes.append


def _markers(item: pytest.Item) -> list[tuple[str, str]]:
    return [(str(mark.args[0]), str(mark.args[1])) for mark in item.iter_markers("fidelity")]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for mark in item.iter_markers("fidelity"):
            if len(mark.args) != 2 or mark.args[1] not in MODES:
                raise pytest.UsageError(
                    f"{item.nodeid}: use @pytest.mark.fidelity(extension, mode), mode one of "
                    f"{', '.join(MODES)}; got {mark.args}"
                )


def _outcome(report: pytest.TestReport, assertion: bool) -> tuple[str, str]:
    if hasattr(report, "wasxfail"):
        if report.skipped:
            return "not repeatable", report.wasxfail
        return "identical", "expected a difference, but none was seen"
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        return "skipped", str(reason).removeprefix("Skipped: ")
    if report.failed:
        message = getattr(report.longrepr, "reprcrash", None)
        detail = " ".join(message.message.split()) if message else ""
        # Only a failed comparison is a difference; a time-out or a crash proves nothing.
        differs = report.when == "call" and assertion
        return ("differs" if differs else "error"), detail[:300]
    return "identical", ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    marks = _markers(item)
    if not marks:
        return
    # One record per test: the call phase decides, unless set-up or tear-down failed/skipped.
    decisive = report.when == "call" or report.failed or report.skipped
    if not decisive:
        return
    assertion = call.excinfo is not None and call.excinfo.errisinstance(AssertionError)
    result, detail = _outcome(report, assertion)
    notes = item.stash.get(NOTE_KEY, [])
    records = [
        {
            "extension": extension,
            "mode": mode,
            "test": item.nodeid,
            "outcome": result,
            "detail": "; ".join([*notes, detail] if detail else notes),
            "seconds": round(report.duration, 1),
        }
        for extension, mode in marks
    ]
    # Written at once, test by test: a run stopped half-way still leaves what it proved.
    if os.environ.get("FORGE_DIR"):
        merge_records(record_path(), records, item.config.stash[RECORDS_KEY])


def run_info() -> dict[str, str]:
    forge = os.environ.get("FORGE_DIR", "")
    commit = ""
    git = shutil.which("git")
    if forge and git:
        result = subprocess.run(
            [git, "-C", forge, "rev-parse", "--short=8", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
        commit = result.stdout.strip()
    return {"forge_commit": commit, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def merge_records(path: Path, records: list[dict], info: dict[str, str]) -> None:
    """Replace this run's tests in the file, keep every other test's last record.

    Several pytest runs (other test files, other helpers) may finish at once: the file is
    read, merged and rewritten under an exclusive lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            existing = json.loads(path.read_text()) if path.exists() else {}
        except json.JSONDecodeError:
            existing = {}
        tests = {r["test"] for r in records}
        kept = [r for r in existing.get("records", []) if r["test"] not in tests]
        stamped = [{**r, **info} for r in records]
        document = {"records": kept + stamped}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        temporary.replace(path)
