"""Phone numbers: parsed with ``phonenumbers`` and stored in E.164
(``+33612345678``), a national number read in the instance's default region
(the ``sms.default_region`` setting, ``FR``).

A contact's mobile number is the value of the custom field named by the
``sms.phone_field`` setting (``phone`` by default). The plugin registers a
``phone`` field type whose values are normalised when typed, imported or
posted to the API, so an invalid number is refused with a clear message there;
a number stored before (a ``text`` field) is normalised again at send time and
a send to an invalid one is skipped with the reason.
"""
from __future__ import annotations

import phonenumbers
from markupsafe import Markup, escape

from core import Contact, ContactValue, CustomField, FieldType, FieldValueError, get_setting, translation_domain

_, _l = translation_domain(__name__).pair()


class PhoneError(ValueError):
    """A number that cannot be used; the message says why, for a user."""


def default_region() -> str:
    return (get_setting("sms", "default_region") or "FR").strip().upper()


def to_e164(text: str, region: str | None = None) -> str:
    """``text`` as an E.164 number, or :class:`PhoneError`::

        to_e164("06 12 34 56 78")      # "+33612345678" (region FR)
        to_e164("+44 20 7946 0958")    # "+442079460958"
    """
    raw = (text or "").strip()
    if not raw:
        raise PhoneError(_("no phone number"))
    try:
        number = phonenumbers.parse(raw, region or default_region())
    except phonenumbers.NumberParseException:
        raise PhoneError(_("“%(number)s” is not a phone number", number=raw[:40])) from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(_("“%(number)s” is not a valid phone number", number=raw[:40]))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_field_key() -> str:
    return (get_setting("sms", "phone_field") or "phone").strip()


def raw_phones(contact_ids) -> dict[int, str]:
    """``{contact_id: stored phone text}`` for the contacts that have one (one query)."""
    ids = list(contact_ids)
    if not ids:
        return {}
    rows = (ContactValue.select(ContactValue.contact, ContactValue.value).join(CustomField)
            .where((CustomField.key == phone_field_key()) & ContactValue.contact.in_(ids)).tuples())
    return {contact_id: value for contact_id, value in rows}


def phone_of(contact: Contact) -> str:
    """The contact's number in E.164, or :class:`PhoneError`."""
    return to_e164(raw_phones([contact.id]).get(contact.id, ""))


class PhoneFieldType(FieldType):
    """A phone number, stored in E.164."""

    id = "phone"
    label = _l("Phone number")
    operators = ("equals", "not_equals", "starts_with", "empty", "not_empty")

    def parse(self, text, field=None):
        if isinstance(text, (list, tuple)):
            text = next((item for item in text if str(item or "").strip()), "")
        if text is None or not str(text).strip():
            return None
        try:
            return to_e164(str(text))
        except PhoneError as error:
            raise FieldValueError(str(error)) from None

    def display(self, value, field=None) -> str:
        if not value:
            return ""
        try:
            return phonenumbers.format_number(phonenumbers.parse(value, None),
                                              phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        except phonenumbers.NumberParseException:
            return str(value)

    def render_widget(self, name: str, value, field=None) -> Markup:
        shown = "" if value is None else value
        return Markup('<input type="tel" name="{}" value="{}" autocomplete="tel">').format(name, escape(shown))
