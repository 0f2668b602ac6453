"""Kept for scripts that import `task_scheduler.models`: the task model lives in core/."""

from .core.models import *  # noqa: F403
