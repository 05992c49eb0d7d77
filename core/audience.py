"""The pre-send audience check and the reasons behind a veto.

Before a marketing send (a newsletter, a smart-content programme, a workflow
email step) the admin sees how many contacts will receive it and how many are
skipped, by reason::

    from core import check_audience

    check = check_audience(contact_ids, channel="email", purpose="marketing")
    check.summary()   # "8 will receive it, 3 skipped: no consent (2), unsubscribed (1)"
    if check.nobody:  # refuse the send, with check.summary() as the reason
        ...

The plugins answer ``contact_receive_refusals`` (the set-based twin of
``contact_can_receive``) for chunks of :data:`CHUNK` ids, so the check costs a
few queries per chunk whatever the audience size. A plugin that vetoes sends
but does not answer the batched hook is listed in ``unchecked``: its vetoes
still apply at send time, they just cannot be counted in advance.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from flask import current_app

from .i18n import core_domain
from .models import Contact

log = logging.getLogger("couvee.audience")
_ = core_domain().gettext

#: contact ids per ``contact_receive_refusals`` call
CHUNK = 500


@dataclass
class AudienceCheck:
    """``total`` contacts in the audience; ``skipped`` counts by reason."""

    total: int
    skipped: Counter = field(default_factory=Counter)
    unchecked: list[str] = field(default_factory=list)

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())

    @property
    def receiving(self) -> int:
        return self.total - self.skipped_count

    @property
    def nobody(self) -> bool:
        """Would the send reach no one (empty audience or everyone skipped)?"""
        return self.receiving <= 0

    def reasons(self) -> str:
        return ", ".join(f"{reason} ({count})" for reason, count in self.skipped.most_common())

    def summary(self) -> str:
        """``12 will receive it, 3 skipped: no consent (3)`` in the reader's language."""
        if self.skipped_count:
            text = _("%(receiving)s will receive it, %(skipped)s skipped: %(reasons)s",
                     receiving=self.receiving, skipped=self.skipped_count, reasons=self.reasons())
        else:
            text = _("%(receiving)s will receive it", receiving=self.receiving)
        if self.unchecked:
            text += " " + _("(not checked in advance: %(plugins)s)", plugins=", ".join(self.unchecked))
        return text

    def refusal(self) -> str:
        """Why a send to this audience is refused ("" when it may go)."""
        if self.total == 0:
            return _("The audience is empty: no contact with an address in the chosen recipients.")
        if self.nobody:
            return _("Nobody would receive it: all %(total)s skipped (%(reasons)s).",
                     total=self.total, reasons=self.reasons())
        return ""


def refusals(contact_ids: list[int], channel: str, purpose: str) -> dict[int, list[str]]:
    """``{contact_id: [reasons]}`` for the contacts some plugin refuses (one
    reason per refusing plugin, in the order the plugins answered)."""
    found: dict[int, list[str]] = {}
    hooks = current_app.extensions["couvee"].hooks
    for start in range(0, len(contact_ids), CHUNK):
        chunk = contact_ids[start:start + CHUNK]
        for _plugin, answer in hooks.call("contact_receive_refusals", contact_ids=chunk, channel=channel,
                                          purpose=purpose):
            for contact_id, reason in (answer or {}).items():
                reasons = found.setdefault(int(contact_id), [])
                if str(reason) not in reasons:
                    reasons.append(str(reason))
    return found


def unchecked_plugins() -> list[str]:
    """Active plugins that veto sends without answering the batched hook."""
    pm = current_app.extensions["couvee"].hooks.pm
    batched = {impl.plugin_name for impl in pm.hook.contact_receive_refusals.get_hookimpls()}
    return sorted({impl.plugin_name for impl in pm.hook.contact_can_receive.get_hookimpls()} - batched)


def check_audience(contact_ids: Iterable[int], channel: str, purpose: str) -> AudienceCheck:
    """Count who will receive a send to ``contact_ids`` and who is skipped,
    by reason. ``contact_ids`` may be a list or a peewee query selecting ids."""
    ids = [row[0] if isinstance(row, tuple) else int(getattr(row, "id", row))
           for row in (contact_ids.tuples() if hasattr(contact_ids, "tuples") else contact_ids)]
    check = AudienceCheck(total=len(ids), unchecked=unchecked_plugins())
    # a contact refused by several plugins (unsubscribed, hence opposed) is counted once, under its first reason
    check.skipped.update(reasons[0] for reasons in refusals(ids, channel, purpose).values())
    return check


def skip_reason(contact: Contact, channel: str, purpose: str, vetoes: list[str]) -> str:
    """What a vetoed send records: the plugins' reasons ("skipped: no consent")
    when they give one, else the vetoing plugins' names."""
    reasons = refusals([contact.id], channel, purpose).get(contact.id) if contact.id is not None else None
    if reasons:
        return f"{'; '.join(reasons)} ({', '.join(vetoes)})"
    return "refused by " + ", ".join(vetoes)


def contacts_can_receive(contacts: Iterable[Contact], channel: str, purpose: str) -> dict[int, str]:
    """The batch form of :func:`core.can_receive` for a bulk sender:
    ``{contact_id: skip reason}`` for the contacts that may not be contacted
    (the others may), the reason worded as :func:`skip_reason` words it::

        refused = contacts_can_receive(batch_contacts, "email", "marketing")
        for contact in batch_contacts:
            if contact.id in refused:
                mark_skipped(contact, refused[contact.id])  # "unsubscribed (email)"

    Each plugin answers ``contact_receive_refusals`` once per :data:`CHUNK`
    contacts. A plugin that vetoes without answering the batched hook, or
    whose batched answer raises, is asked ``contact_can_receive`` contact by
    contact (failing closed, as :func:`core.can_receive` does). Ask right
    before sending the batch: the answer is not cached."""
    contacts = list(contacts)
    if not contacts:
        return {}
    pm = current_app.extensions["couvee"].hooks.pm
    ids = [contact.id for contact in contacts]
    batched = {impl.plugin_name: impl for impl in pm.hook.contact_receive_refusals.get_hookimpls()}
    singles = {impl.plugin_name: impl for impl in pm.hook.contact_can_receive.get_hookimpls()}
    # {contact_id: [(plugin, reason or "")]}, plugins in the order core.can_receive asks them
    vetoes: dict[int, list[tuple[str, str]]] = {}
    for name in reversed(list(singles)):  # the plugins core.can_receive asks, in its order
        answers: dict | None = None
        if name in batched:
            answers = _batched_answers(batched[name], ids, channel, purpose)
        if answers is None and name in singles:
            answers = _single_answers(singles[name], contacts, channel, purpose)
        for contact_id, reason in (answers or {}).items():
            vetoes.setdefault(int(contact_id), []).append((name, str(reason)))
    return {contact_id: _worded(found) for contact_id, found in vetoes.items()}


def _batched_answers(impl, ids: list[int], channel: str, purpose: str) -> dict | None:
    """One plugin's refusals for ``ids`` (None when its hook raised)."""
    found: dict = {}
    try:
        for start in range(0, len(ids), CHUNK):
            found.update(impl.function(contact_ids=ids[start:start + CHUNK], channel=channel, purpose=purpose) or {})
    except Exception:
        log.exception("plugin %s raised in contact_receive_refusals; asking it contact by contact", impl.plugin_name)
        return None
    return found


def _single_answers(impl, contacts: list[Contact], channel: str, purpose: str) -> dict:
    """One plugin's ``contact_can_receive`` vetoes (a hook that raises vetoes: fail closed)."""
    found = {}
    for contact in contacts:
        try:
            answer = impl.function(contact=contact, channel=channel, purpose=purpose)
        except Exception:
            log.exception("plugin %s raised in contact_can_receive", impl.plugin_name)
            answer = False
        if answer is False:
            found[contact.id] = ""
    return found


def _worded(vetoes: list[tuple[str, str]]) -> str:
    reasons = list(dict.fromkeys(reason for _, reason in vetoes if reason))
    names = ", ".join(dict.fromkeys(name for name, _ in vetoes))
    return f"{'; '.join(reasons)} ({names})" if reasons else f"refused by {names}"
