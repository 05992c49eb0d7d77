"""The SMS plugin's event kinds: ``sms_opted_out``, a contact replied STOP;
``sms_opted_in``, they replied START afterwards."""
from __future__ import annotations

from core import EventKind, translation_domain

_l = translation_domain(__name__).lazy_gettext


def sms_event_kinds() -> list[EventKind]:
    return [EventKind("sms_opted_out", _l("Opted out of SMS"), verb=_l("reply STOP to an SMS"),
                      past=_l("replied STOP to an SMS"), negative_past=_l("did not reply STOP to an SMS"),
                      interaction=True, can_trigger=True, opposition=True,
                      properties={"phone": "the number, E.164", "keyword": "the word replied (STOP, ARRET...)"}),
            EventKind("sms_opted_in", _l("Opted in to SMS again"), verb=_l("reply START to an SMS"),
                      past=_l("replied START to an SMS"), negative_past=_l("did not reply START to an SMS"),
                      interaction=True, can_trigger=True,
                      properties={"phone": "the number, E.164", "keyword": "the word replied (START, UNSTOP, YES)"})]
