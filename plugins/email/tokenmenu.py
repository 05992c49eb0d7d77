"""The insert-token menu of the newsletter form: every token an email can
use, with the name the admin knows it by (the contact's own fields, the
custom fields, the owner, the links).

Example::

    token_choices()[0]   # ("{{ email }}", "Email")
"""
from __future__ import annotations

from core import custom_fields, native_fields, translation_domain

_ = translation_domain(__name__).gettext


def token_choices() -> list[tuple[str, str, str]]:
    """``(group, token, label)`` rows: contact fields, custom fields, then others."""
    contact, custom, other = _("Contact"), _("Custom fields"), _("Other")
    rows = [(contact, "{{ %s }}" % key, str(label)) for key, label in native_fields().items()]
    rows.append((contact, "{{ name }}", _("Full name (or the email)")))
    rows += [(custom, "{{ fields.%s }}" % field.key, field.label) for field in custom_fields()]
    rows += [(other, "{{ owner_name }}", _("Owner's name")), (other, "{{ owner_email }}", _("Owner's email")),
             (other, "{{ unsubscribe_url }}", _("Unsubscribe link")), (other, "{{ view_url }}", _("View in browser link"))]
    return rows
