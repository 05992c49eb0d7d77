"""SMS, the second send channel (issue 22): the ``sms`` channel and its
gateway (:mod:`.provider`, Twilio's API shape), phone numbers in E.164
(:mod:`.phones`, a ``phone`` field type), segment counting (:mod:`.segments`),
STOP replies and delivery receipts (:mod:`.webhooks`, :mod:`.optout`), the
``sms.send`` workflow action (:mod:`.actions`) and campaigns to segments with
an exactly-once send log (:mod:`.campaigns`, :mod:`.claims`). See docs/sms.md.

Another plugin sends an SMS without importing this one::

    send_message(Message(to="+33612345678", subject="", text="Votre code : 4821",
                         contact=contact, purpose="transactional", key=f"otp:{contact.id}"), channel="sms")
"""
from __future__ import annotations

from core import (AdminMenuItem, Migration, PeriodicJob, SendChannel, Setting, SettingsGroup, hookimpl,
                  translation_domain)

_l = translation_domain(__name__).lazy_gettext


def _region(text: str) -> str:
    import phonenumbers

    region = text.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(str(_l("Unknown region code: use two letters such as FR, BE, CH.")))
    return region


def _price(text: str) -> str:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(str(_l("Write a price such as 0.045."))) from None
    if value < 0:
        raise ValueError(str(_l("Write a price such as 0.045.")))
    return str(value)


@hookimpl
def register_models():
    from .models import SMS_MODELS

    return list(SMS_MODELS)


@hookimpl
def register_migrations():
    from .models import SMS_MODELS

    return [Migration.create_tables(1, "sms campaigns, send log and opt-outs", SMS_MODELS)]


@hookimpl
def register_settings():
    return [SettingsGroup("sms", _l("SMS"), [
        Setting("account_sid", _l("Twilio account SID"), env="COUVEE_SMS_ACCOUNT_SID"),
        Setting("auth_token", _l("Twilio auth token"), kind="password", secret=True, env="COUVEE_SMS_AUTH_TOKEN",
                help=_l("Also the key that signs the webhooks (STOP replies, delivery receipts).")),
        Setting("sender", _l("Sender (number in E.164 or alphanumeric sender id)"), env="COUVEE_SMS_SENDER"),
        Setting("base_url", _l("API base URL"), default="https://api.twilio.com"),
        Setting("default_region", _l("Default region of national numbers"), default="FR", clean=_region),
        Setting("phone_field", _l("Key of the contact field holding the mobile number"), default="phone"),
        Setting("price_per_segment", _l("Price per segment"), default="0", clean=_price,
                help=_l("Used to show the cost of a campaign before it is sent.")),
    ])]


@hookimpl
def register_field_types():
    from .phones import PhoneFieldType

    return [PhoneFieldType()]


@hookimpl
def register_channels():
    from .sending import send_sms

    return [SendChannel("sms", _l("SMS"), send=send_sms)]


@hookimpl
def register_event_kinds():
    from .kinds import sms_event_kinds

    return sms_event_kinds()


@hookimpl
def register_actions():
    from .actions import send_sms_action

    return [send_sms_action()]


@hookimpl
def register_blueprints():
    from .views import sms_admin
    from .webhooks import sms_hooks

    return [sms_admin, sms_hooks]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("sms", _l("SMS"), "sms.index", order=32, roles=("admin", "marketer"))]


@hookimpl
def register_periodic_jobs():
    from .campaigns import sweep

    return [PeriodicJob("sms.sweep", sweep, interval=300)]


@hookimpl
def tpl_slot(slot, context):
    """``workflow_step_form`` of a *Send an SMS* step: the live segment count
    and cost under its text (the step form's ``s-text`` textarea)."""
    if slot != "workflow_step_form" or context.get("kind") != "action:sms.send":
        return None
    from flask import render_template
    from markupsafe import Markup

    return Markup(render_template("sms/_live_count.html", for_id="s-text"))


@hookimpl
def contact_can_receive(contact, channel, purpose):
    """A contact who replied STOP gets no marketing SMS (``False`` vetoes, ``None`` abstains)."""
    from .optout import opposes

    return False if opposes(contact, channel, purpose) else None


@hookimpl
def contact_receive_refusals(contact_ids, channel, purpose):
    from . import optout

    return optout.refusals(contact_ids, channel, purpose) or None


@hookimpl
def contact_export(contact):
    from .models import OptOut, SmsSend

    from .phones import PhoneError, raw_phones, to_e164

    sends = SmsSend.select().where(SmsSend.contact == contact.id).order_by(SmsSend.id)
    mine = OptOut.contact == contact.id
    try:  # the opposition of their current number too (a STOP before they were a contact, or by a namesake)
        mine |= OptOut.phone == to_e164(raw_phones([contact.id]).get(contact.id, ""))
    except PhoneError:
        pass
    stops = OptOut.select().where(mine).order_by(OptOut.id)
    return {
        "SMS sent": [{"at": (row.sent_at or row.created_at).isoformat(), "to": row.to, "text": row.body,
                      "status": row.status, "delivery": row.delivery, "reason": row.reason} for row in sends],
        "SMS opposition": [{"at": row.created_at.isoformat(), "phone": row.phone, "keyword": row.keyword}
                           for row in stops],
    }


@hookimpl
def contact_erase(contact, mode):
    from .models import OptOut, SmsSend

    if mode == "delete":
        SmsSend.delete().where(SmsSend.contact == contact.id).execute()
    else:
        SmsSend.update(to="", body="", contact=None).where(SmsSend.contact == contact.id).execute()
    # the opposition outlives the contact (by number), so an erased person re-imported is still not texted
    OptOut.update(contact=None).where(OptOut.contact == contact.id).execute()
