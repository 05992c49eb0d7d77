"""Property-based run of schemathesis against the whole REST API, driven by
our own OpenAPI document (served by the app under test, with every active
plugin): for every operation, valid and invalid requests, with an
administrator's API key, on ids that exist. It asserts no server error and
that every answer is documented: its status code, its content type and its
body's schema; and that requests breaking the schema are refused.

Bounded so the whole run stays around a minute on two cores (25 examples per
operation, no shrinking database between runs)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from core import auth, contacts
from core.models import CustomField

from .test_automation import delay, live

EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@pytest.fixture
def seeded(wsgi):
    """An administrator's key and one of each thing an id can point at."""
    from plugins.segments import Segment
    from plugins.smart_content.library import save_content

    app = wsgi.app
    with app.app_context(), app.extensions["couvee"].database_connection():
        admin = auth.create_user("fuzz@example.com", "x" * 12, role="admin")
        _, key = auth.create_api_key(admin, "schemathesis")
        CustomField.create(key="zone", label="Zone", type_id="select", options=["EMEA", "APAC"])
        ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"}, tags=["vip"])
        contacts.create_contact({"email": "bob@example.com"})
        listed = Segment.create(name="Guests", kind="static")
        content = save_content(None, {"title": "Guide", "url": "https://example.com/guide"}, source="api")
        workflow = live("Nurture", [{"type": "inbound_event", "settings": {"name": "signed_up"}}], [delay(1)])
        ids = {"contact_id": ada.id, "segment_id": listed.id, "content_id": content.id, "workflow_id": workflow.id}
    return key, ids


def _destructive_last(operation) -> tuple:
    return (operation.method.upper() == "DELETE" or operation.path.endswith("/erase"), operation.label)


def test_every_operation_answers_as_documented(wsgi, seeded):
    key, ids = seeded
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_destructive_last)
    assert len(operations) >= 25
    failures, calls = {}, []
    for operation in operations:
        existing = {name: ids[name] for name in ids if f"{{{name}}}" in operation.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=existing or None))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def run(case):
                calls.append(operation.label)
                case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # nothing in this operation can be invalid (no parameter, no body)
                assert mode is GenerationMode.NEGATIVE
            except (Exception, BaseExceptionGroup) as error:  # every failing operation is reported, not only the first
                failures[f"{operation.label} ({mode.value})"] = f"{type(error).__name__}: {error}"[:3000]
    print(f"{len(calls)} requests on {len(operations)} operations")
    assert len(set(calls)) == len(operations)
    assert not failures, "\n\n".join(f"{label}\n{message}" for label, message in failures.items())
