"""The event kinds the forms plugin owns (registered by ``register_event_kinds``).

The label and the trigger's setting are translated; ``verb`` and ``past``
stay English because core still composes them into English sentences
("did not submit a form")."""
from __future__ import annotations

from core import EventKind, Setting, translation_domain

_l = translation_domain(__name__).lazy_gettext


def form_event_kinds() -> list[EventKind]:
    return [
        EventKind("form_submitted", _l("Form submitted"), verb="submit a form", past="submitted a form",
                  interaction=True, can_trigger=True, segment_condition=True,
                  properties={"form_id": "the form's id", "form_name": "its name",
                              "submission_id": "the stored submission", "page_url": "where it was sent from"},
                  trigger_settings=[Setting("form_id", _l("Form id (empty: any form)"))]),
    ]
