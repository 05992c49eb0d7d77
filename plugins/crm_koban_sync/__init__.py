"""Two-way contact sync with Koban CRM (``crm_koban_sync``).

Push: contacts created or changed here (debounced, batches of ≤ 100, our id
as ``Extcode``), the ``crm.push`` action, and unsubscribes. Pull: a periodic
``GetUpdated`` since the last cursor that creates/updates contacts, the owner,
the ``crm_status`` field, and Koban's do-not-email flags. See docs/crm_koban.md.
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import Action, AdminMenuItem, Migration, PeriodicJob, batch_memo, enqueue, hookimpl, translation_domain

from . import config, erasure, mapping, push, record_mapping
from .models import MODELS, RECORD_MAPPING_MODELS, RECORD_MODELS, FieldMapping, KobanLink, SyncConflict

_l = translation_domain(__name__).lazy_gettext

#: events whose data changes should reach Koban (when not made by the sync itself)
CHANGE_KINDS = ("contact_created", "contact_updated", "tag_added", "tag_removed")
UNSUBSCRIBE_KINDS = ("email_unsubscribed", "consent_withdrawn")
PULL_EVERY = 300


def _default_mapping(database, migrator):
    for position, (couvee_field, koban_field, direction) in enumerate(mapping.DEFAULT_MAPPING):
        FieldMapping.insert(couvee_field=couvee_field, koban_field=koban_field, direction=direction,
                            position=position).on_conflict_ignore().execute()


@hookimpl
def register_models():
    return list(MODELS) + list(RECORD_MODELS) + list(RECORD_MAPPING_MODELS)


@hookimpl
def register_event_kinds():
    from .kinds import crm_event_kinds

    return crm_event_kinds()


@hookimpl
def register_migrations():
    from .trigger_upgrade import move_crm_status_triggers

    return [Migration.create_tables(1, "Koban links, mapping, sync log", MODELS, then=_default_mapping),
            Migration(2, "CRM status triggers saved as status_changed become crm_status_changed",
                      move_crm_status_triggers),
            Migration.create_tables(3, "Koban account (ncThird) links and conflicts", RECORD_MODELS),
            Migration.create_tables(4, "Koban account field mapping (name ↔ Label, domain ↔ WebSite)",
                                    RECORD_MAPPING_MODELS, then=record_mapping.create_defaults)]


@hookimpl
def register_settings():
    return [config.settings_group()]


@hookimpl
def register_blueprints():
    from .views import crm_admin

    return [crm_admin]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("crm_koban", _l("Koban CRM"), "crm_koban.index", order=70, roles=("admin", "marketer"))]


@hookimpl
def register_periodic_jobs():
    from .pull import pull_updates

    from .thirds import sync_accounts

    return [PeriodicJob("crm_koban.pull", pull_updates, interval=PULL_EVERY, queue="low"),
            PeriodicJob("crm_koban.accounts", sync_accounts, interval=PULL_EVERY, queue="low")]


def run_push_action(contact, settings, context=None):
    """Action ``crm.push``: send this contact to Koban now (idempotent: an upsert on Extcode)."""
    if not config.is_enabled():
        return "Koban sync is off"
    enqueue(push.push_batch, [contact.id], queue="low")
    return "queued"


@hookimpl
def register_actions():
    return [Action("crm.push", _l("Push to CRM (Koban)"), run=run_push_action,
                   description=_l("Creates or updates the contact in Koban now, with the mapped fields."))]


def _touches_push_fields(event) -> bool:
    if event.kind == "contact_created":
        return True
    fields = {row.couvee_field for row in mapping.mappings("push")}
    if event.kind in ("tag_added", "tag_removed"):
        return mapping.TAGS in fields
    return bool(fields & set((event.data or {}).get("changes") or {}))


@hookimpl
def contact_event(event):
    """Queue pushes and unsubscribes; skip what the sync itself wrote."""
    if event.kind not in CHANGE_KINDS + UNSUBSCRIBE_KINDS:
        return  # e.g. email_sent: no settings query for the many events the sync ignores
    if event.source == config.SOURCE or not batch_memo("crm_koban_sync.enabled", config.is_enabled):
        return
    data = event.data or {}
    if event.kind in CHANGE_KINDS:
        if _touches_push_fields(event):
            push.queue_push(event.contact_id)
    elif event.kind == "email_unsubscribed" or (
            event.kind == "consent_withdrawn" and data.get("purpose") == "email_marketing"):
        if event.contact.email:
            enqueue(push.push_unsubscribe, event.contact.email, event.contact_id, queue="low")


@hookimpl
def contact_can_receive(contact, channel, purpose):
    """Koban's ``InvalidMail`` vetoes every email; ``Unsuscribe`` vetoes marketing email."""
    if channel != "email":
        return None
    link = KobanLink.get_or_none(KobanLink.contact == contact.id)
    if link is None:
        return None
    if link.invalid_mail or (link.unsubscribed and purpose == "marketing"):
        return False
    return None


@hookimpl
def contact_erase(contact, mode):
    erasure.erase_locally(contact)


@hookimpl
def contact_receive_refusals(contact_ids, channel, purpose):
    """The same vetoes for a whole audience (the pre-send audience check)."""
    if channel != "email":
        return None
    found = {}
    for link in KobanLink.select().where(KobanLink.contact.in_(contact_ids)
                                         & (KobanLink.invalid_mail | KobanLink.unsubscribed)):
        if link.invalid_mail:
            found[link.contact_id] = "invalid address in Koban"
        elif purpose == "marketing":
            found[link.contact_id] = "unsubscribed in Koban"
    return found or None


@hookimpl
def contact_export(contact):
    link = KobanLink.get_or_none(KobanLink.contact == contact.id)
    if link is None:
        return None
    conflicts = SyncConflict.select().where(SyncConflict.contact == contact.id).order_by(SyncConflict.id)
    return {
        "Koban CRM link": [{
            "koban_guid": link.guid or "", "koban_account_guid": link.third_guid or "",
            "koban_updated": link.koban_updated,
            "last_pushed_at": link.last_pushed_at.isoformat() if link.last_pushed_at else "",
            "last_pulled_at": link.last_pulled_at.isoformat() if link.last_pulled_at else "",
            "unsubscribed_in_koban": link.unsubscribed, "invalid_mail_in_koban": link.invalid_mail,
            "synced_values": ", ".join(f"{k}={v}" for k, v in sorted((link.synced or {}).items())),
        }],
        "Koban sync conflicts": [{
            "at": c.created_at.isoformat(), "field": c.field, "couvee_value": c.local_value,
            "koban_value": c.remote_value, "winner": c.winner,
        } for c in conflicts],
    }


@hookimpl
def tpl_slot(slot, context):
    if slot != "contact_sidebar" or context.get("contact") is None:
        return None
    contact = context["contact"]
    link = KobanLink.get_or_none(KobanLink.contact == contact.id)
    pattern = config.setting("contact_url") or ""
    url = pattern.replace("{guid}", link.guid) if (link and link.guid and "{guid}" in pattern) else ""
    if not url.startswith(("https://", "http://")):
        url = ""
    return Markup(render_template("crm_koban_sync/contact_panel.html", contact=contact, link=link, url=url,
                                  enabled=config.is_enabled()))
