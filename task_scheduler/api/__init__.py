"""The REST API under /task-scheduler/: routes, schemas, auth, limits and error mapping."""
