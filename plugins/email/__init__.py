"""Email: the ``email`` send channel (SMTP or Maildir), newsletters to
segments written in MJML or HTML, sandboxed templates, an image library,
open/click tracking, unsubscribes (page, RFC 8058 One-Click, mailto),
bounces and metrics. See docs/email.md."""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import (AdminMenuItem, Migration, PeriodicJob, SendChannel, SetupStep, get_setting, hookimpl,
                  translation_domain)

from .models import EMAIL_MODELS, Bounce, Recipient, Send

_l = translation_domain(__name__).lazy_gettext


def _move_sender_identity(database, migrator):
    """The company and postal address were asked in Email and General
    settings: General keeps them (a value already there wins)."""
    from core import move_setting

    from .config import GENERAL, GROUP, IDENTITY

    for old_key, general_key in IDENTITY.items():
        move_setting(GROUP, old_key, GENERAL, general_key)


@hookimpl
def register_models():
    return list(EMAIL_MODELS)


@hookimpl
def register_event_kinds():
    from .kinds import email_event_kinds

    return email_event_kinds()


@hookimpl
def register_migrations():
    from .migrations import add_content_format, add_image_library, add_pause_reason, add_saved_templates

    return [Migration.create_tables(1, "newsletters, send log, links, opens, clicks, bounces", EMAIL_MODELS),
            Migration(2, "company and postal address move to General settings", _move_sender_identity),
            Migration(3, "newsletters written in MJML or HTML", add_content_format),
            Migration(4, "the image library", add_image_library),
            Migration(5, "saved email templates", add_saved_templates),
            Migration(6, "why a send job paused a newsletter", add_pause_reason)]


@hookimpl
def register_settings():
    from .config import settings_group

    return [settings_group()]


@hookimpl
def register_channels():
    from .delivery import channel_send
    from .testsend import channel_test

    return [SendChannel("email", _l("Email"), send=channel_send, test=channel_test)]


@hookimpl
def register_actions():
    from .actions import email_actions
    from .notify import notify_action

    return email_actions() + [notify_action()]


@hookimpl
def register_blueprints():
    from . import builderviews, deliverability, duplicate, imageviews, templateviews  # noqa: F401 (their routes are on email_admin, email_public)
    from .public import email_public
    from .views import email_admin

    return [email_public, email_admin]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("email", _l("Newsletters"), "email_admin.index", order=30, roles=("admin", "marketer")),
            AdminMenuItem("email.images", _l("Image library"), "email_admin.images_page", order=31,
                          roles=("admin", "marketer"))]


@hookimpl
def register_periodic_jobs():
    from .newsletters import sweep

    from .mailbox import poll_job

    return [PeriodicJob("email.sweep", sweep, interval=60, queue="email"),
            PeriodicJob("email.bounce_mailbox", poll_job, interval=300, queue="email")]


def soft_bounce_limit() -> int:
    from core import get_setting

    try:
        return int(get_setting("email", "soft_bounce_limit") or 0)
    except (TypeError, ValueError):
        return 3


@hookimpl
def contact_can_receive(contact, channel, purpose):
    """Veto email to unsubscribed (marketing), hard-bounced or repeatedly
    soft-bounced contacts."""
    if channel != "email":
        return None
    from .standing import blocked_reason

    reason = blocked_reason(contact, soft_bounce_limit)
    if not reason:
        return None
    if reason == "unsubscribed" and purpose == "transactional":
        return None
    return False


@hookimpl
def contact_receive_refusals(contact_ids, channel, purpose):
    """The same vetoes for a whole audience (the pre-send audience check)."""
    if channel != "email":
        return None
    from .standing import blocked_reasons

    return blocked_reasons(contact_ids, soft_bounce_limit(), purpose) or None


@hookimpl
def contact_erase(contact, mode):
    if mode == "delete":
        Send.delete().where(Send.contact == contact.id).execute()
    else:
        Send.update(to_email="", html=None, text=None, contact=None).where(Send.contact == contact.id).execute()
        Bounce.update(email="").where(Bounce.contact == contact.id).execute()
    Bounce.delete().where(Bounce.contact == contact.id).execute()
    Recipient.delete().where(Recipient.contact == contact.id).execute()


@hookimpl
def contact_export(contact):
    sends = Send.select().where(Send.contact == contact.id).order_by(Send.id)
    status = Recipient.get_or_none(Recipient.contact == contact.id)
    return {
        "Emails": [{"subject": s.subject, "kind": s.kind, "status": s.status, "to": s.to_email,
                    "sent_at": s.sent_at.isoformat() if s.sent_at else None,
                    "opened_at": s.opened_at.isoformat() if s.opened_at else None,
                    "clicked_at": s.clicked_at.isoformat() if s.clicked_at else None} for s in sends],
        "Email status": [] if status is None else [{
            "unsubscribed_at": status.unsubscribed_at.isoformat() if status.unsubscribed_at else None,
            "unsubscribe_reason": status.unsubscribe_reason,
            "hard_bounced_at": status.hard_bounced_at.isoformat() if status.hard_bounced_at else None,
            "soft_bounces": status.soft_bounces}],
    }


@hookimpl
def tpl_slot(slot, context):
    if slot == "settings_group":
        group = context.get("group")
        if group is None or group.id != "email":
            return None
        from .deliverability import panel

        return panel()
    contact = context.get("contact")
    if slot != "contact_sidebar" or contact is None:
        return None
    from core import check_audience

    sends = list(Send.select().where((Send.contact == contact.id) & (Send.status == "sent"))
                 .order_by(Send.sent_at.desc()).limit(5))
    not_sent = list(Send.select().where((Send.contact == contact.id) & Send.status.in_(["skipped", "failed"]))
                    .order_by(Send.id.desc()).limit(5))
    from .labels import bounce_label, reason_label, status_label

    skipped = check_audience([contact.id], "email", "marketing").skipped  # the whole consent gate
    blocked = ", ".join(reason_label(reason) for reason in skipped)
    return Markup(render_template("email/contact_panel.html", contact=contact, sends=sends, not_sent=not_sent,
                                  blocked=blocked, bounce_label=bounce_label, status_label=status_label,
                                  reason_label=reason_label))


@hookimpl
def register_setup_steps():
    from .config import GROUP

    return [SetupStep("email.sender", _l("Set the sender of your emails"), "admin.settings_group",
                      lambda: bool(get_setting(GROUP, "from_email")), endpoint_values={"group_id": GROUP},
                      help=_l("The address and name your contacts see, and the mail server that sends."),
                      order=10, roles=("admin",))]
