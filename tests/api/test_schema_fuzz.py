"""Schema fuzzing (schemathesis): no request, valid or not, gets a 5xx or an off-schema reply.

Every operation of the OpenAPI spec is called with generated data, both schema-valid and
deliberately invalid, against the real app (auth on, fake host, worker running). Path ids are
often swapped for ids of real tasks so the stateful paths (edit, move, cancel ...) run too.
FUZZ_EXAMPLES sets examples per operation (default 60).
"""

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
    from task_scheduler import api

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
    # Choices derived from the case itself, so a failing example replays the same way.
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
    case.call_and_validate(checks=CHECKS, headers={"Authorization": _basic("alice")})


def _basic(user: str) -> str:
    import base64

    token = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()
    return f"Basic {token}"
