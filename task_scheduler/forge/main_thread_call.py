"""Running a function on Forge's main (GPU) thread and getting its exception back.

Forge's `main_thread.run_and_wait_result` never re-raises: a failing function's exception is
printed and the call returns None. The wrapper here returns the outcome as a value and raises
it again on the calling thread, so a failed generation fails its task with Forge's message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class _Raised:
    def __init__(self, error: Exception):
        self.error = error


def call_on_main_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `function` on Forge's main thread, wait, and return its result or raise its error."""
    if threading.current_thread() is threading.main_thread():
        return function(*args, **kwargs)  # queuing onto our own thread would deadlock
    from modules_forge import main_thread

    def guarded() -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as error:  # brought back to the caller, never lost
            return _Raised(error)

    outcome = main_thread.run_and_wait_result(guarded)
    if isinstance(outcome, _Raised):
        raise outcome.error
    return outcome
