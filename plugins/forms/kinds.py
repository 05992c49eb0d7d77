"""The event kinds the forms plugin owns (registered by ``register_event_kinds``),
worded in the plugin's catalogue: label, phrases, trigger setting, and the
details the contact's history shows of a submission."""
from __future__ import annotations

from core import EventKind, Setting, translation_domain

_, _l = translation_domain(__name__).pair()


def submission_details(data: dict) -> list[tuple[str, str]]:
    """The form's name and the page it was sent from, in the reader's language."""
    details = []
    if data.get("form_name"):
        details.append((_("Form"), str(data["form_name"])))
    if data.get("page_url"):
        details.append((_("Page"), str(data["page_url"])))
    return details


def form_event_kinds() -> list[EventKind]:
    return [
        EventKind("form_submitted", _l("Form submitted"), verb=_l("submit a form"), past=_l("submitted a form"),
                  negative_past=_l("did not submit a form"),
                  interaction=True, can_trigger=True, segment_condition=True,
                  properties={"form_id": "the form's id", "form_name": "its name",
                              "submission_id": "the stored submission", "page_url": "where it was sent from"},
                  trigger_settings=[Setting("form_id", _l("Form id (empty: any form)"))],
                  details=submission_details),
    ]
