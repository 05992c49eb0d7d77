"""The event kinds the GDPR plugin owns (registered by ``register_event_kinds``).

Consents are recorded from these events whoever emits them (the forms plugin
emits ``consent_given`` with its proofs while this plugin is active)."""
from __future__ import annotations

from core import EventKind, Setting, translation_domain

from .purposes import purpose_choices

_l = translation_domain(__name__).lazy_gettext

CONSENT = {"purpose": "email_marketing, profiling...", "text": "the exact wording accepted",
           "text_version": "its version", "source": "form, double_opt_in, preference_centre, admin, api...",
           "form_id": "the form, if any", "ip": "the person's IP address", "user_agent": "their browser",
           "at": "when (ISO 8601)"}


def purpose_setting() -> Setting:
    return Setting("purpose", _l("Purpose (empty: any)"), kind="choice", choices=[("", _l("Any")), *purpose_choices()])


def gdpr_event_kinds() -> list[EventKind]:
    return [
        EventKind("consent_given", _l("Consent given"), verb=_l("give consent"), past=_l("gave consent"),
                  negative_past=_l("did not give consent"), interaction=True,
                  can_trigger=True, segment_condition=True, properties=CONSENT,
                  trigger_settings=[purpose_setting()], description=_l("e.g. a newsletter sign-up.")),
        EventKind("consent_withdrawn", _l("Consent withdrawn"), verb=_l("withdraw consent"),
                  past=_l("withdrew consent"), negative_past=_l("did not withdraw consent"),
                  interaction=True, can_trigger=True, properties=CONSENT, trigger_settings=[purpose_setting()]),
        EventKind("gdpr_retention_warning", _l("Retention deadline approaching"), verb=_l("near the retention deadline"),
                  past=_l("neared the retention deadline"), negative_past=_l("did not near the retention deadline"),
                  properties={"deadline": "the date of the erasure", "action": "delete or pseudonymise",
                              "days_left": "days until then"}),
    ]
