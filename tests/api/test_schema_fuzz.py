"""Schema fuzzing (schemathesis): no request, valid or not, gets a 5xx or an off-schema reply.

Every operation of the OpenAPI spec is called with generated data, both schema-valid and
deliberately invalid, against the real app (auth on, fake host, worker running). Path ids are
often swapped for ids of real tasks so the stateful paths (edit, move, cancel ...) run too.
FUZZ_EXAMPLES sets examples per operation (default 60).

The nightly-style run (marked `slow`, left out of the default run: `python -m pytest -m slow
tests/api/test_schema_fuzz.py`) takes FUZZ_SLOW_EXAMPLES per operation (default 300, five
times the CI run's, not derandomized: each run tries new data) and runs sequences of calls
against one server state (schemathesis' state machine: FUZZ_SLOW_SEQUENCES sequences, default
100, of up to FUZZ_SLOW_STEPS calls, default 50)."""

from __future__ import annotations

import os
import random

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import USERS, build_api, png_base64

schemathesis.experimental.OPEN_API_3_1.enable()  # FastAPI 0.104 publishes OpenAPI 3.1

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
# Defaults sized to end in about half an hour on a shared 2-core machine (README, "Testing")
SLOW_EXAMPLES = int(os.environ.get("FUZZ_SLOW_EXAMPLES", "300"))
SLOW_SEQUENCES = int(os.environ.get("FUZZ_SLOW_SEQUENCES", "100"))
SLOW_STEPS = int(os.environ.get("FUZZ_SLOW_STEPS", "50"))
PREFIX = "/task-scheduler"
TASK_ROUTES = [  # what can follow a call that answers with a task id
    ("/tasks/{task_id}", "GET"),
    ("/tasks/{task_id}", "PATCH"),
    ("/tasks/{task_id}", "DELETE"),
    ("/queue/{task_id}/cancel", "POST"),
    ("/tasks/{task_id}/retry", "POST"),
    ("/tasks/{task_id}/move", "POST"),
    ("/tasks/{task_id}/images/{index}", "GET"),
]
METHODS = [schemathesis.DataGenerationMethod.positive, schemathesis.DataGenerationMethod.negative]
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    app, services, _host = build_api(tmp_path_factory.mktemp("fuzz"), credentials=USERS)
    from fastapi.testclient import TestClient

    client = TestClient(app)
    client.auth = ("alice", USERS["alice"])
    for index in range(6):
        client.post("/task-scheduler/queue/txt2img", json={"prompt": f"seed {index}"})
    client.post("/task-scheduler/queue/img2img", json={"init_images": [png_base64()]})
    client.post("/task-scheduler/queue/txt2img", json={"prompt": "FAIL on purpose"})
    services.executor.start()
    yield app, services
    services.executor.shutdown(timeout=30, interrupt=True)
    from task_scheduler.api import app as api

    api.shutdown(services)
    services.queue.close()


@pytest.fixture(scope="module")
def fuzz_schema(fuzzed):
    app, _services = fuzzed
    return schemathesis.from_asgi("/openapi.json", app, data_generation_methods=METHODS)


schema = schemathesis.from_pytest_fixture("fuzz_schema", data_generation_methods=METHODS)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_fuzzed_requests_never_get_5xx_or_off_schema_replies(case, fuzzed):
    _app, services = fuzzed
    _aim_at_known_tasks(case, services)
    case.call_and_validate(checks=CHECKS, headers={"Authorization": _basic("alice")})


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=SLOW_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_nightly_fuzz_many_examples_never_get_5xx_or_off_schema_replies(case, fuzzed):
    _app, services = fuzzed
    _aim_at_known_tasks(case, services)
    case.call_and_validate(checks=CHECKS, headers={"Authorization": _basic("alice")})


@pytest.mark.slow
def test_nightly_fuzz_call_sequences_never_get_5xx_or_off_schema_replies(fuzzed):
    """Random sequences of calls on one queue: tasks queued are then read, edited, moved,
    cancelled, retried or deleted, in any order, every reply checked.
    The links between the calls are added here (the published schema has none)."""
    app, services = fuzzed
    linked = schemathesis.from_asgi("/openapi.json", app)  # links need schema-valid data
    task_id = {"path.task_id": "$response.body#/id"}
    for path, method in TASK_ROUTES:  # one source: schemathesis names rules by target
        linked.add_link(
            source=linked[f"{PREFIX}/queue/txt2img"]["POST"],
            target=linked[f"{PREFIX}{path}"][method],
            status_code="201",
            parameters=task_id,
        )

    class Sequences(linked.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case):
            _aim_at_known_tasks(case, services)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": _basic("alice")}}

        def validate_response(self, response, case, additional_checks=()):
            case.validate_response(response, checks=CHECKS + tuple(additional_checks))

    Sequences.run(
        settings=settings(
            max_examples=SLOW_SEQUENCES,
            stateful_step_count=SLOW_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def _aim_at_known_tasks(case, services) -> None:
    """Swap path ids for real tasks' often, so the stateful routes act on something.
    Choices derive from the case itself, so a failing example replays the same way."""
    chooser = random.Random(repr((case.path_parameters, case.query, case.body)))
    path = case.path_parameters or {}
    if "task_id" in path and chooser.random() < 0.6:
        known = [task.id for task in services.queue.list_tasks(limit=20).tasks]
        if known:
            path["task_id"] = chooser.choice(known)
    if "index" in path and chooser.random() < 0.5:
        path["index"] = 0
    if chooser.random() < 0.1:  # keep the queue stocked for the stateful routes
        services.queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "refill"}})


def _basic(user: str) -> str:
    import base64

    token = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()
    return f"Basic {token}"
