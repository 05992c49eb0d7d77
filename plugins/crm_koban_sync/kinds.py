"""The event kinds the Koban sync emits (registered by ``register_event_kinds``)."""
from __future__ import annotations

from core import EventKind, Setting, translation_domain

_l = translation_domain(__name__).lazy_gettext


def crm_event_kinds() -> list[EventKind]:
    return [
        EventKind("crm_status_changed", _l("CRM status changed"), verb=_l("change status in the CRM"),
                  past=_l("changed status in the CRM"), negative_past=_l("did not change status in the CRM"), can_trigger=True,
                  properties={"from": "the previous status", "to": "the new status", "guid": "Koban's id"},
                  trigger_settings=[Setting("to", _l("New status (empty: any)"), help=_l("e.g. customer"))]),
        EventKind("crm_opportunity_lost", _l("Opportunity lost in the CRM"), verb=_l("lose an opportunity in the CRM"),
                  past=_l("lost an opportunity in the CRM"),
                  negative_past=_l("did not lose an opportunity in the CRM"), can_trigger=True,
                  properties={"opportunity": "status, previous_status, guid, account"}),
        EventKind("crm_unsubscribed", _l("Unsubscribed in the CRM"), verb=_l("be marked unsubscribed in the CRM"),
                  past=_l("was marked unsubscribed in the CRM"),
                  negative_past=_l("was not marked unsubscribed in the CRM"), interaction=True, opposition=True,
                  properties={"reason": "unsubscribed or invalid_mail", "guid": "Koban's id"}),
    ]
