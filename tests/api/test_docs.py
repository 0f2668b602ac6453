"""Every route and model is documented in the app's OpenAPI spec (Forge's /docs)."""

from __future__ import annotations

BASE = "/task-scheduler"


def test_every_operation_has_a_summary_responses_and_the_tag(app_api):
    spec = app_api.client.get("/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, methods in spec["paths"].items()
        if path.startswith(BASE)
        for method, operation in methods.items()
    ]
    # 16 + GET/POST /import/peer + 4 on /groups/{group_id} + GET/PUT /schedule, POST /run-now
    assert len(operations) == 25
    for path, method, operation in operations:
        assert operation.get("summary"), (method, path)
        assert operation["tags"] == ["Task Scheduler"], (method, path)
        assert any(code.startswith("2") for code in operation["responses"]), (method, path)
        if "{task_id}" in path or "{group_id}" in path:
            assert "404" in operation["responses"], (method, path)


def test_request_bodies_carry_examples_and_field_descriptions(app_api):
    schemas = app_api.client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("Txt2ImgRequest", "Img2ImgRequest", "TaskEdit", "MoveRequest"):
        assert schemas[name].get("examples"), name
    txt2img = schemas["Txt2ImgRequest"]["properties"]
    fields = ("checkpoint", "checkpoints", "priority", "name", "callback_url", "sampler_name")
    for field in (*fields, "prompt"):
        assert txt2img[field].get("description"), field


def test_docs_page_is_served(app_api):
    response = app_api.client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
