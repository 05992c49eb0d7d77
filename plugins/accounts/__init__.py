"""Accounts (B2B companies): the tables (:mod:`.models`), the link of contacts
by email domain or by hand (:mod:`.linking`), the account form's checks and
the events of a change (:mod:`.editing`), the combined score, timeline and
last interaction (:mod:`.score`), the custom fields (:mod:`.fields`), the
score thresholds and their trigger (:mod:`.crossing`), the owner rules and
round robin (:mod:`.owners`), the segment filters (:mod:`.filters`), the
workflow trigger and action (:mod:`.workflow`), CSV in and out
(:mod:`.csvio`), the admin pages (:mod:`.views`), the REST API (:mod:`.api`)
and GDPR (:mod:`.privacy`).

Driving it from Python (tests)::

    from plugins.accounts import create_account, link, account_of
    account = create_account(clean_account({"name": "Acme", "domain": "acme.fr"}))
    link(contact, account)          # by hand; emits account_linked
    account_of(contact.id)          # Account or None

Deactivated, its pages, menu entry, settings, event kinds, filters, trigger
and action disappear; its tables are kept.
"""
from __future__ import annotations

import peewee
from flask import render_template
from markupsafe import Markup

from core import AdminMenuItem, Migration, Setting, SettingsGroup, counts_as_interaction, hookimpl, translation_domain

from .editing import AccountError, clean_account, create_account, delete_account, update_account
from .linking import account_of, link, unlink
from .score import POINTS_KIND

__all__ = ["AccountError", "account_of", "clean_account", "create_account", "delete_account", "link", "unlink",
           "update_account"]

_l = translation_domain(__name__).lazy_gettext

@hookimpl
def register_models():
    from .models import ACCOUNTS_MODELS, COUNTER_MODELS, FIELD_MODELS

    return list(ACCOUNTS_MODELS) + list(FIELD_MODELS) + list(COUNTER_MODELS)


def add_last_score(database, migrator) -> None:
    """``Account.last_score`` (the account score crossed trigger compares with it)."""
    from playhouse.migrate import migrate

    from .models import Account

    table = Account._meta.table_name
    if "last_score" not in {column.name for column in database.get_columns(table)}:
        migrate(migrator.add_column(table, "last_score", Account.last_score))
    # existing accounts start from the sum of their contacts' points: it is at
    # least the score of every mode, so no threshold is reported crossed by the upgrade
    from core import Contact
    from .models import AccountContact

    total = (Contact.select(peewee.fn.COALESCE(peewee.fn.SUM(Contact.points), 0))
             .join(AccountContact, on=(AccountContact.contact == Contact.id))
             .where(AccountContact.account == Account.id))
    Account.update(last_score=total).where(Account.last_score.is_null()).execute()


@hookimpl
def register_migrations():
    from .models import ACCOUNTS_MODELS, COUNTER_MODELS, FIELD_MODELS

    return [Migration.create_tables(1, "accounts and the contacts' links", ACCOUNTS_MODELS),
            Migration.create_tables(2, "custom fields of accounts", FIELD_MODELS),
            Migration(3, "the accounts' last combined score", add_last_score),
            Migration.create_tables(4, "the round robin of new accounts' owners", COUNTER_MODELS)]


@hookimpl
def register_event_kinds():
    from .kinds import accounts_event_kinds

    return accounts_event_kinds()


@hookimpl
def register_segment_filters():
    from .filters import account_filters

    return account_filters()


@hookimpl
def register_trigger_types():
    from .crossing import score_trigger
    from .workflow import status_trigger

    return [status_trigger(), score_trigger()]


@hookimpl
def register_actions():
    from .workflow import assign_owner_action

    return [assign_owner_action()]


@hookimpl(optionalhook=True)
def crm_sync_record_types():
    """Accounts sync with Koban's ncThird while the Koban sync is on (:mod:`.crm`)."""
    from .crm import record_types

    return record_types()


@hookimpl
def register_blueprints():
    from .api import accounts_api
    from .views import accounts_admin

    return [accounts_admin, accounts_api]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("accounts", _l("Accounts"), "accounts.index", order=15)]


@hookimpl
def register_settings():
    from .crossing import THRESHOLDS_DEFAULT, clean_thresholds
    from .linking import FREE_MAIL_DEFAULT
    from .owners import role_choices
    from .score import SCORE_MODES

    return [
        SettingsGroup("accounts", _l("Accounts"), [
            Setting("free_mail_domains", _l("Free-mail domains"), kind="textarea", default=FREE_MAIL_DEFAULT,
                    help=_l("One per line. Contacts at these domains are never linked to an account automatically.")),
            Setting("score_mode", _l("Combined score of an account"), kind="choice", default="sum",
                    choices=list(SCORE_MODES)),
            Setting("score_thresholds", _l("Score thresholds"), kind="textarea", default=THRESHOLDS_DEFAULT,
                    clean=clean_thresholds,
                    help=_l("Whole numbers of points, one per line. The trigger “The account’s score crosses a "
                            "threshold” offers them.")),
            Setting("contacts_get_account_owner", _l("Contacts get their account’s owner"), kind="bool", default=True,
                    help=_l("A contact without owner linked to an account that has one gets the account’s owner "
                            "(when linked, and when the account gets an owner).")),
            Setting("round_robin_role", _l("Round robin of new accounts"), kind="choice", default="",
                    choices=role_choices(),
                    help=_l("New accounts without owner get one in turn among the active, available users of "
                            "this role.")),
        ])
    ]


@hookimpl(tryfirst=True)
def contact_created(contact):
    """Linked first, so that the account's owner comes before other owner rules (round robin)."""
    from .linking import on_contact_created

    on_contact_created(contact)


@hookimpl
def contact_updated(contact, changes):
    if "email" in changes:
        from .linking import on_email_changed

        on_email_changed(contact)


@hookimpl
def contact_event(event):
    """An interaction of a contact moves its account's last interaction."""
    if counts_as_interaction(event.kind):
        from .score import touch_last_interaction

        touch_last_interaction(event.contact_id, event.created_at)
    if event.kind == POINTS_KIND:
        from .crossing import check_score_of_contact

        check_score_of_contact(event.contact_id)


@hookimpl
def contact_export(contact):
    from .privacy import export_rows

    return export_rows(contact)


@hookimpl
def contact_erase(contact, mode):
    from .privacy import erase

    erase(contact, mode)


@hookimpl
def tpl_slot(slot, context):
    if slot != "contact_sidebar" or context.get("contact") is None:
        return None
    contact = context["contact"]
    return Markup(render_template("accounts/contact_panel.html", contact=contact, account=account_of(contact.id)))
