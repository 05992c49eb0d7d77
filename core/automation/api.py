"""REST endpoints (API key auth, as everything under ``/api/``)::

    POST   /api/v1/automation/events              inbound event from another tool:
           {"email" | "contact_id", "name", "properties": {...}}  → 202 {"event_id"}
    GET    /api/v1/workflows                       workflows with status and counts
    POST   /api/v1/workflows/<id>/contacts        {"contact_id"} add by hand → 201 run, 409 refused
    DELETE /api/v1/workflows/<id>/contacts/<cid>  remove from runs in progress
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify

from ..contacts import normalize_email
from ..events import emit
from ..extension import FieldValueError
from ..models import Contact
from ..rest.responses import created, invalid, json_body
from .entry import EntryRefused, start_workflow, stop_workflow
from .models import RUN_ACTIVE, Workflow, WorkflowRun

automation_api = Blueprint("automation_api", __name__, url_prefix="/api/v1")
MAX_NAME = 100


def _contact_from(body: dict) -> Contact:
    if body.get("contact_id") is not None:
        try:
            contact = Contact.get_or_none(Contact.id == int(body["contact_id"]))
        except (TypeError, ValueError):
            contact = None
    else:
        try:
            email = normalize_email(body.get("email"))
        except FieldValueError as error:
            abort(422, description=str(error))
        contact = Contact.get_or_none(Contact.email == email) if email else None
    if contact is None:
        abort(404, description="No such contact: send an existing contact_id or email.")
    return contact


@automation_api.route("/automation/events", methods=["POST"])
def inbound_event():
    body = json_body()
    name = str(body.get("name") or "").strip()
    if not name or len(name) > MAX_NAME:
        return invalid({"name": f"give the event a name (1 to {MAX_NAME} characters), e.g. project_finished"})
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        return invalid({"properties": "must be a JSON object"})
    contact = _contact_from(body)
    event = emit(contact, "custom_event", {"name": name, "properties": properties}, source="api")
    response = jsonify(event_id=event.id, contact_id=contact.id, kind="custom_event", name=name)
    response.status_code = 202
    return response


def run_json(run: WorkflowRun) -> dict:
    return {"id": run.id, "workflow_id": run.workflow_id, "contact_id": run.contact_id, "version": run.version,
            "status": run.status, "step_id": run.step_id, "started_at": run.started_at.isoformat(),
            "wake_at": run.wake_at.isoformat() if run.wake_at else None, "error": run.error or None}


@automation_api.route("/workflows", methods=["GET"])
def list_workflows():
    items = []
    for workflow in Workflow.select().order_by(Workflow.id):
        active = WorkflowRun.select().where((WorkflowRun.workflow == workflow.id)
                                            & WorkflowRun.status.in_(RUN_ACTIVE)).count()
        items.append({"id": workflow.id, "name": workflow.name, "status": workflow.status,
                      "version": workflow.version, "runs_in_progress": active})
    return jsonify(items=items)


def _workflow(workflow_id: int) -> Workflow:
    return Workflow.get_or_none(Workflow.id == workflow_id) or abort(404, description="No such workflow.")


@automation_api.route("/workflows/<int:workflow_id>/contacts", methods=["POST"])
def add_contact(workflow_id):
    workflow = _workflow(workflow_id)
    contact = _contact_from(json_body())
    try:
        run = start_workflow(contact, workflow, reason="added through the API", manual=True)
    except EntryRefused as refusal:
        response = jsonify(error="refused", message=str(refusal))
        response.status_code = 409
        return response
    return created(run_json(run))


@automation_api.route("/workflows/<int:workflow_id>/contacts/<int:contact_id>", methods=["DELETE"])
def remove_contact(workflow_id, contact_id):
    workflow = _workflow(workflow_id)
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404, description="No such contact.")
    return jsonify(stopped=stop_workflow(contact, workflow, reason="removed through the API"))
