"""Forge entry point of the Task Scheduler extension: wires Forge's callbacks to the parts.

Everything lives in the `task_scheduler` package; this file only starts it, once per script
load (Forge start-up and every "Reload UI").
"""

from task_scheduler.forge.extension import setup

setup()
