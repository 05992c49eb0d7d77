"""REST endpoints (API key auth, as everything under ``/api/``)::

    POST   /api/v1/automation/events              inbound event from another tool:
           {"email" | "contact_id", "name", "properties": {...}}  → 202 {"event_id"}
    GET    /api/v1/workflows                       workflows with status and counts
    POST   /api/v1/workflows/<id>/contacts        {"contact_id"} add by hand → 201 run, 409 refused
    DELETE /api/v1/workflows/<id>/contacts/<cid>  remove from runs in progress
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify

from core import Contact, FieldValueError, emit, normalize_email
from core import api_schema as s
from core import api_operation as operation
from core import created_json as created, invalid_json as invalid
from .entry import EntryRefused, start_workflow, stop_workflow
from .models import RUN_ACTIVE, Workflow, WorkflowRun

automation_api = Blueprint("automation_api", __name__, url_prefix="/api/v1")
MAX_NAME = 100

WHO = {
    "contact_id": s.Integer(minimum=1, maximum=s.MAX_ID, nullable=True, description="The contact's id, or..."),
    "email": s.String(max_length=254, nullable=True, description="...its address (when contact_id is not sent)"),
}
INBOUND_EVENT = s.Named("InboundEvent", s.Object({
    **WHO,
    "name": s.String(max_length=MAX_NAME, description="What happened, e.g. project_finished"),
    "properties": s.Object(additional=s.Anything(), nullable=True, max_properties=100,
                           description="Anything the workflow conditions can use"),
}, required=("name",)))
RECORDED = s.Object({"event_id": s.ID, "contact_id": s.ID, "kind": s.String(enum=["custom_event"]),
                     "name": s.String()}, required=("event_id", "contact_id", "kind", "name"))
RUN = s.Named("WorkflowRun", s.Object({
    "id": s.ID, "workflow_id": s.ID, "contact_id": s.ID, "version": s.Integer(), "status": s.String(),
    "step_id": s.String(nullable=True), "started_at": s.DATETIME, "wake_at": s.String(format="date-time", nullable=True),
    "error": s.String(nullable=True),
}, required=("id", "workflow_id", "contact_id", "version", "status", "step_id", "started_at", "wake_at", "error")))
WORKFLOW = s.Object({"id": s.ID, "name": s.String(), "status": s.String(), "version": s.Integer(),
                     "runs_in_progress": s.Integer(minimum=0)},
                    required=("id", "name", "status", "version", "runs_in_progress"))
WORKFLOW_ID = {"workflow_id": s.ID}
NO_CONTACT = "No such contact (or no such workflow)"


def _contact_from(body: dict) -> Contact:
    if body.get("contact_id") is not None:
        contact = Contact.get_or_none(Contact.id == body["contact_id"])
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
@operation("Record an event from another tool (starts inbound-event workflows)", tags=["automation"],
           body=INBOUND_EVENT, description="Send the contact's contact_id or email.",
           responses={202: ("Recorded; workflows react in a worker", RECORDED), 404: NO_CONTACT})
def inbound_event(body):
    name = (body.get("name") or "").strip()
    if not name or len(name) > MAX_NAME:
        return invalid({"name": f"give the event a name (1 to {MAX_NAME} characters), e.g. project_finished"})
    properties = body.get("properties") or {}
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
@operation("List workflows with their status and runs in progress", tags=["automation"],
           responses={200: ("Every workflow, by id", s.Object({"items": s.Array(WORKFLOW)}, required=("items",)))})
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
@operation("Add a contact to a workflow by hand", tags=["automation"], path=WORKFLOW_ID,
           body=s.Object(WHO, description="Send the contact's contact_id or email."),
           responses={201: ("The run started", RUN), 404: NO_CONTACT,
                      409: "Refused (already in it, not active, entry rules...): message says why"})
def add_contact(workflow_id, body):
    workflow = _workflow(workflow_id)
    contact = _contact_from(body)
    try:
        run = start_workflow(contact, workflow, reason="added through the API", manual=True)
    except EntryRefused as refusal:
        response = jsonify(error="refused", message=str(refusal))
        response.status_code = 409
        return response
    return created(run_json(run))


@automation_api.route("/workflows/<int:workflow_id>/contacts/<int:contact_id>", methods=["DELETE"])
@operation("Stop a contact's runs in progress in a workflow", tags=["automation"],
           responses={200: ("How many runs were stopped", s.Object({"stopped": s.Integer(minimum=0)},
                                                                   required=("stopped",))),
                      404: "No such workflow or contact"})
def remove_contact(workflow_id, contact_id):
    workflow = _workflow(workflow_id)
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404, description="No such contact.")
    return jsonify(stopped=stop_workflow(contact, workflow, reason="removed through the API"))
