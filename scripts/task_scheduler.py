"""Forge entry point of the Task Scheduler extension: loads our package and starts it.

Forge puts every extension's folder on `sys.path` while it loads that extension's scripts, so a
plain `import task_scheduler` gets whichever extension's `task_scheduler` package was imported
first (SachiraChin's sd-webui-forge-task-scheduler has one too). Our package is therefore loaded
from our own folder under a module name no other extension uses; every import inside it is
relative, so it works under any name. Forge runs this file at start-up and on every "Reload UI";
the package is loaded once per process and reused, so its process-wide state (one queue, one
worker) survives reloads.
"""

import hashlib
import importlib
import importlib.util
import os
import sys
from types import ModuleType

EXTENSION_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def package_name(extension_dir: str) -> str:
    """`sd_forge_task_scheduler_<hash of the folder>`: unique to this installed copy, stable."""
    digest = hashlib.sha256(os.path.realpath(extension_dir).encode("utf-8")).hexdigest()[:12]
    return f"sd_forge_task_scheduler_{digest}"


def load_package(extension_dir: str) -> ModuleType:
    """Our `task_scheduler/` folder as a package under `package_name(extension_dir)` (once)."""
    name = package_name(extension_dir)
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    folder = os.path.join(extension_dir, "task_scheduler")
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the task_scheduler package from {folder}")
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package  # before running it: its submodules import it by this name
    try:
        spec.loader.exec_module(package)
    except BaseException:
        del sys.modules[name]
        raise
    return package


_package = load_package(EXTENSION_DIR)
importlib.import_module(f"{_package.__name__}.forge.extension").setup()
