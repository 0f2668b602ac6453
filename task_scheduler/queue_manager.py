"""Kept for scripts that import `task_scheduler.queue_manager`: the queue lives in core/."""

from .core.queue_manager import QueueManager  # noqa: F401
