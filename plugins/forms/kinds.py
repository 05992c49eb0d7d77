"""The event kinds the forms plugin owns (registered by ``register_event_kinds``)."""
from __future__ import annotations

from core import EventKind, Setting


def form_event_kinds() -> list[EventKind]:
    return [
        EventKind("form_submitted", "Form submitted", verb="submit a form", past="submitted a form",
                  interaction=True, can_trigger=True, segment_condition=True,
                  properties={"form_id": "the form's id", "form_name": "its name",
                              "submission_id": "the stored submission", "page_url": "where it was sent from"},
                  trigger_settings=[Setting("form_id", "Form id (empty: any form)")]),
    ]
