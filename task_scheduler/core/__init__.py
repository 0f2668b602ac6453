"""The queue itself: the task model, its rules and run order, the worker and the host contract."""
