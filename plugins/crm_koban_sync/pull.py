"""Koban → Couvée.

Every few minutes, ``ncContact/GetUpdated`` since the last cursor (paged with
``s``/``l``), and for each Koban contact:

- find its Couvée contact (by Guid, then by our ``Extcode``, then by email) or
  create it;
- per mapped field, three-way compare Koban's value, ours and the value both
  sides agreed on at the last sync: a side that alone changed wins; when both
  changed, the later writer wins (Koban's ``DUpdated`` against our
  ``updated_at``) and the conflict is recorded;
- owner from ``AssignedTo`` (matched to a user by email, then by name),
  customer status into the ``crm_status`` field (events
  ``crm_status_changed`` and ``crm_opportunity_lost``), Koban's
  ``Unsuscribe``/``InvalidMail`` kept as do-not-email flags (event
  ``crm_unsubscribed``).

Changes are written with ``source="crm_koban"``, which the push side skips:
an update received from Koban is never sent back.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from core import Contact, ContactError, CustomField, User, add_tag, create_contact, emit, event_kind_registered, \
    get_values, remove_tag, state, tags_of, update_contact, utcnow, write_transaction

from . import config, mapping
from .client import KobanAuthError, KobanError, KobanUnavailable
from .merge import decide
from .models import ErasedRecord, KobanLink, SyncRun
from .push import queue_push
from .runs import finish_run, last_cursor, record_conflict, record_error, start_run

SOURCE = config.SOURCE
#: the owners plugin's event kind, emitted when the CRM names an owner (if that plugin is on)
OWNER_ASSIGNED = "owner_assigned"
STATUS_FIELD = "crm_status"
#: ask Koban for a little more than since the last run (clocks drift)
OVERLAP = 120
LOCK = "crm_koban:pull_lock"
MAX_PAGES = 10_000


def guid_hash(guid: str) -> str:
    return hashlib.sha256(guid.encode()).hexdigest()


def koban_seconds(value) -> int | None:
    """Koban's ``DUpdated`` in unix seconds (some accounts send milliseconds)."""
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number // 1000 if number > 10_000_000_000 else number


# --- the periodic job ------------------------------------------------------------------


def pull_updates() -> str:
    """Job: fetch what changed in Koban since the last successful pull."""
    if not config.is_enabled() or not config.is_configured():
        return "off"
    redis = state().redis
    if not redis.set(LOCK, "1", nx=True, ex=1800):
        return "already running"
    try:
        return _pull()
    finally:
        redis.delete(LOCK)


def _pull() -> str:
    run = start_run("pull")
    started = int(utcnow().timestamp())
    since = max(0, last_cursor() - OVERLAP) if last_cursor() else 0
    client = None
    try:
        client = config.make_client()
        rows = mapping.mappings("pull")
        start, size = 0, config.page_size()
        for _ in range(MAX_PAGES):
            total, page = client.contacts_updated(since, start, size)
            for remote in page:
                _apply_safely(remote, rows, run)
            start += len(page)
            if not page or start >= total:
                break
        if config.setting("status_source") == "account":
            _account_statuses(client, run)
    except (KobanAuthError, KobanUnavailable, KobanError) as error:
        finish_run(run, "failed", f"{error} The next pull starts again from the same point.",
                   requests=client.requests if client else 0)
        return "failed"
    run.cursor = started
    finish_run(run, requests=client.requests)
    return run.status


def _apply_safely(remote: dict, rows, run: SyncRun) -> None:
    """Apply one Koban contact in its own transaction; a bad one is logged
    and the page goes on."""
    database = state().database
    try:
        with write_transaction(database):
            apply_remote(remote, rows, run)
    except ContactError as error:
        record_error(run, f"Koban contact {remote.get('Guid')}: {error}", guid=str(remote.get("Guid") or ""))
    except Exception as error:  # noqa: BLE001 - one odd record must not stop the pull
        record_error(run, f"Koban contact {remote.get('Guid')} could not be applied: {type(error).__name__}: {error}",
                     guid=str(remote.get("Guid") or ""))


# --- one contact -----------------------------------------------------------------------


def _find(remote: dict) -> tuple[Contact | None, KobanLink | None]:
    guid = remote.get("Guid")
    link = KobanLink.get_or_none(KobanLink.guid == guid) if guid else None
    if link is not None:
        return link.contact, link
    extcode = str(remote.get("Extcode") or "")
    contact = Contact.get_or_none(Contact.id == int(extcode)) if extcode.isdigit() else None
    if contact is None and remote.get("EMail"):
        email = str(remote["EMail"]).strip().lower()
        contact = Contact.get_or_none(Contact.email == email)
    if contact is None:
        return None, None
    return contact, KobanLink.get_or_none(KobanLink.contact == contact.id)


def apply_remote(remote: dict, rows, run: SyncRun) -> str:
    """Create or update the Couvée contact for one Koban contact; returns
    ``created``, ``updated``, ``unchanged`` or ``skipped``."""
    guid = str(remote.get("Guid") or "")
    if not guid or ErasedRecord.select().where(ErasedRecord.guid_hash == guid_hash(guid)).exists():
        run.skipped += 1
        return "skipped"
    remote_at = koban_seconds(remote.get("DUpdated"))
    contact, link = _find(remote)
    if link is not None and link.koban_updated and remote_at and remote_at < link.koban_updated:
        run.unchanged += 1
        return "unchanged"
    values, problems = mapping.remote_values(remote, rows)
    for field, problem in problems.items():
        record_error(run, f"Koban contact {guid}: {problem}", contact_id=contact.id if contact else None, guid=guid)
        values.pop(field, None)
    if contact is None:
        contact = _create(remote, values, run)
        if contact is None:
            return "skipped"
        link = KobanLink(contact=contact.id, synced=dict(values))
        outcome = "created"
    else:
        link = link or KobanLink(contact=contact.id, synced={})
        changed = _merge(contact, link, values, rows, remote_at, run)
        outcome = "updated" if changed else "unchanged"
    changed_more = _owner(contact, remote.get("AssignedTo"))
    if config.setting("status_source") != "account":
        changed_more |= apply_status(contact, _status_of(remote), guid, run)
    _flags(contact, link, remote)
    link.guid = guid
    link.third_guid = (remote.get("Third") or {}).get("Guid") if isinstance(remote.get("Third"), dict) else None
    link.koban_updated = remote_at
    link.last_pulled_at = utcnow()
    link.last_error = ""
    KobanLink.delete().where((KobanLink.guid == guid) & (KobanLink.contact != contact.id)).execute()
    link.save()
    if outcome == "unchanged" and changed_more:
        outcome = "updated"
    setattr(run, outcome, getattr(run, outcome) + 1)
    return outcome


def _create(remote: dict, values: dict, run: SyncRun) -> Contact | None:
    email = values.get("email") or str(remote.get("EMail") or "").strip().lower()
    if not email:
        run.skipped += 1
        return None
    raw = {key: value for key, value in values.items() if key != mapping.TAGS}
    raw["email"] = email
    return create_contact(raw, source=SOURCE, tags=values.get(mapping.TAGS) or ())


def _merge(contact: Contact, link: KobanLink, values: dict, rows, remote_at: int | None, run: SyncRun) -> bool:
    """Three-way merge of the mapped fields; returns whether the contact changed."""
    local = mapping.local_values(contact, rows)
    base = dict(link.synced or {})
    remote_time = dt.datetime.fromtimestamp(remote_at, dt.timezone.utc) if remote_at else None
    take: dict = {}
    push_back = False
    for field, theirs in values.items():
        ours, agreed = local.get(field), base.get(field)
        decision = decide(theirs, ours, agreed)
        if decision == "same":
            base[field] = theirs
            continue
        if decision == "take":
            take[field] = theirs
        elif decision == "conflict":
            koban_wins = remote_time is not None and remote_time > contact.updated_at
            record_conflict(run, contact.id, field, ours, theirs, contact.updated_at, remote_time,
                            "koban" if koban_wins else "couvee")
            if koban_wins:
                take[field] = theirs
            else:
                base[field] = ours
                push_back = True
    for field, value in take.items():
        base[field] = value
    link.synced = base
    changed = _write(contact, take)
    if push_back and config.is_enabled():
        queue_push(contact.id)
    return changed


def _write(contact: Contact, take: dict) -> bool:
    tags = take.pop(mapping.TAGS, None)
    changed = bool(update_contact(contact, take, source=SOURCE)) if take else False
    if tags is not None:
        current = set(tags_of(contact))
        for name in sorted(set(tags) - current):
            changed |= add_tag(contact, name, source=SOURCE)
        for name in sorted(current - set(tags)):
            changed |= remove_tag(contact, name, source=SOURCE)
    return changed


# --- owner, status, flags ---------------------------------------------------------------


def match_user(assigned) -> User | None:
    """The active user matching Koban's ``AssignedTo`` (email, then name)."""
    if not isinstance(assigned, dict):
        return None
    active = User.is_active == True  # noqa: E712
    for key in ("EMail", "Login", "Email"):
        email = str(assigned.get(key) or "").strip().lower()
        if email:
            user = User.get_or_none((User.email == email) & active)
            if user is not None:
                return user
    name = str(assigned.get("FullName") or assigned.get("Label") or "").strip().lower()
    if name:
        for user in User.select().where(active & User.name.is_null(False)):
            if (user.name or "").strip().lower() == name:
                return user
    return None


def _owner(contact: Contact, assigned) -> bool:
    user = match_user(assigned)
    if user is None or contact.owner_id == user.id:
        return False
    Contact.update(owner=user.id, updated_at=utcnow()).where(Contact.id == contact.id).execute()
    contact.owner = user
    if event_kind_registered(OWNER_ASSIGNED):  # the owners plugin's kind: not there while it is off
        emit(contact, OWNER_ASSIGNED, {"owner_id": user.id, "owner_email": user.email, "rule": "crm_koban"},
             source=SOURCE)
    return True


def _status_of(remote: dict) -> str:
    status = remote.get("Status")
    if isinstance(status, dict):
        status = status.get("ExternalCode") or status.get("Label")
    return str(status or "").strip()


def ensure_status_field() -> None:
    """Create the ``crm_status`` custom field the first time Koban sends a
    status (not on activation: a site that never syncs has no such field)."""
    if CustomField.select().where(CustomField.key == STATUS_FIELD).exists():
        return
    last = CustomField.select().order_by(CustomField.position.desc()).first()
    CustomField.insert(key=STATUS_FIELD, label="CRM status", type_id="text",
                       help_text="Customer status from Koban (set by the CRM sync).",
                       position=(last.position + 1) if last else 0).on_conflict_ignore().execute()


def apply_status(contact: Contact, status: str, guid: str, run: SyncRun, account: str = "") -> bool:
    """Store the CRM status in ``crm_status``; emit ``crm_status_changed`` and,
    for a lost status, ``crm_opportunity_lost``."""
    if not status:
        return False
    ensure_status_field()
    old = get_values(contact).get(STATUS_FIELD) or ""
    if old == status:
        return False
    update_contact(contact, {STATUS_FIELD: status}, source=SOURCE)
    emit(contact, "crm_status_changed", {"from": old or None, "to": status, "guid": guid}, source=SOURCE)
    if status.upper() in config.codes("lost_statuses"):
        emit(contact, "crm_opportunity_lost",
             {"opportunity": {"status": status, "previous_status": old or None, "guid": guid, "account": account}},
             source=SOURCE)
    return True


def _flags(contact: Contact, link: KobanLink, remote: dict) -> None:
    for attribute, key, reason in (("unsubscribed", "Unsuscribe", "unsubscribed"),
                                   ("invalid_mail", "InvalidMail", "invalid_mail")):
        now = bool(remote.get(key))
        if now and not getattr(link, attribute):
            emit(contact, "crm_unsubscribed", {"reason": reason, "guid": remote.get("Guid")}, source=SOURCE)
        setattr(link, attribute, now)


def _account_statuses(client, run: SyncRun) -> None:
    """Status from the accounts: ask ``ncThird/GetStatus`` for each followed
    code and give each linked contact its account's status."""
    by_third: dict[str, tuple[str, str]] = {}
    for code in config.codes("account_statuses"):
        for third in client.thirds_with_status(code):
            if third.get("Guid"):
                by_third[str(third["Guid"])] = (code, str(third.get("Label") or ""))
    if not by_third:
        return
    for link in KobanLink.select().where(KobanLink.third_guid.in_(list(by_third))):
        code, label = by_third[link.third_guid]
        if apply_status(link.contact, code, link.guid or "", run, account=label):
            run.updated += 1
