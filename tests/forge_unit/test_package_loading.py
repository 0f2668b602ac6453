"""Our entry script loads our own package whatever other `task_scheduler` Forge imported first.

Each check runs in a fresh Python process that does what Forge does: put the other extension's
folder on `sys.path`, let that extension import its own top-level `task_scheduler`, then run our
`scripts/task_scheduler.py` the way `modules/script_loading.load_module` runs a script (twice:
start-up, then Reload UI). Without Forge, `setup()` stops at `from modules import ...`: reaching
that line proves our package and its Forge part were loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "task_scheduler.py"

PROGRAM = textwrap.dedent(
    """
    import importlib, importlib.util, json, os, pkgutil, sys

    peer, script, peer_first = sys.argv[1], sys.argv[2], sys.argv[3] == "1"

    def forge_load(path):  # modules/script_loading.load_module
        spec = importlib.util.spec_from_file_location(os.path.basename(path), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def load_peer():
        sys.path.insert(0, peer)  # Forge puts the extension's folder first while loading it
        try:
            import task_scheduler
            return task_scheduler
        finally:
            sys.path.remove(peer)

    report = {"errors": [], "processes": []}
    if peer_first:
        peer_package = load_peer()
    for _load in ("start-up", "reload"):
        try:
            forge_load(script)
        except ModuleNotFoundError as error:
            report["errors"].append(error.name)
        ours = [n for n in sys.modules if n.startswith("sd_forge_task_scheduler_")]
        names = sorted({n.split(".")[0] for n in ours})
        report["packages"] = names
        if names:
            extension = sys.modules.get(names[0] + ".forge.extension")
            report["processes"].append(id(extension._process) if extension else None)
    if not peer_first:
        peer_package = load_peer()
    report["peer_file"] = peer_package.__file__
    report["peer_loaded_ours"] = hasattr(peer_package, "forge")
    if report["packages"]:
        package = sys.modules[report["packages"][0]]
        report["package_file"] = package.__file__
        failed = []
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            try:
                importlib.import_module(info.name)
            except Exception as error:
                failed.append(f"{info.name}: {error!r}")
        report["submodule_failures"] = failed
    ours_as_task_scheduler = [
        name for name, module in list(sys.modules.items())
        if name.split(".")[0] == "task_scheduler"
        and os.path.dirname(os.path.dirname(os.path.abspath(script)))
        in os.path.abspath(getattr(module, "__file__", "") or "")
    ]
    report["ours_as_task_scheduler"] = ours_as_task_scheduler
    print(json.dumps(report))
    """
)


def make_peer(root: Path) -> Path:
    """An extension folder with its own top-level `task_scheduler` package, as SachiraChin's."""
    folder = root / "sd-webui-forge-task-scheduler-other"
    package = folder / "task_scheduler"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The other extension\'s package."""\nOWNER = "peer"\n')
    (package / "models.py").write_text("class Task:\n    pass\n")
    return folder


def run_like_forge(tmp_path: Path, peer_first: bool) -> dict:
    """What the program above reports about one Forge-like process."""
    peer = make_peer(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(peer), str(SCRIPT), "1" if peer_first else "0"],
        cwd=tmp_path,  # not the project: `import task_scheduler` must not find ours by chance
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["peer"] = str(peer)
    return report


@pytest.fixture(scope="module")
def peer_first(tmp_path_factory) -> dict:
    """A process where the other extension imported its `task_scheduler` before ours loaded."""
    return run_like_forge(tmp_path_factory.mktemp("peer-first"), peer_first=True)


def test_ours_loads_when_another_task_scheduler_package_was_imported_first(peer_first):
    report = peer_first

    # Before: ModuleNotFoundError "No module named 'task_scheduler.forge'". Now only Forge's own
    # `modules` is missing, i.e. our package and its Forge part were imported.
    assert report["errors"] == ["modules", "modules"]
    assert len(report["packages"]) == 1
    assert Path(report["package_file"]).parent == REPO / "task_scheduler"
    assert Path(report["peer_file"]).parent == Path(report["peer"]) / "task_scheduler"
    assert not report["peer_loaded_ours"]


def test_every_module_of_ours_imports_under_the_unique_name(peer_first):
    report = peer_first

    assert report["submodule_failures"] == []
    assert report["ours_as_task_scheduler"] == []  # nothing of ours lands under the shared name


def test_reload_ui_reuses_the_loaded_package_and_its_process_state(peer_first):
    first, again = peer_first["processes"]
    assert first is not None
    assert first == again  # the same `_process`: one queue, one worker


def test_the_other_extension_still_gets_its_own_package_when_ours_loads_first(tmp_path):
    report = run_like_forge(tmp_path, peer_first=False)

    assert report["errors"] == ["modules", "modules"]
    assert Path(report["peer_file"]).parent == Path(report["peer"]) / "task_scheduler"
    assert not report["peer_loaded_ours"]
