"""Contact operations shared by the admin, the REST API, imports and plugins.

Every change goes through here so that values are validated by their field
type and the right events are emitted (``contact_created``,
``contact_updated`` with the changes, ``tag_added``...).
"""
from __future__ import annotations

from flask import current_app

from .addresses import normalize_email
from .db import write_transaction
from .events import emit
from .extension import FieldValueError
from .i18n import LANGUAGES, core_domain, valid_language
from .like import text_contains
from .models import Contact, ContactTag, ContactValue, CustomField, Tag, User, utcnow
from .queue import enqueue

NATIVE_FIELDS = ("email", "first_name", "last_name", "language")

_, _l = core_domain().pair()


def native_fields() -> dict:
    """The contact's own text fields (columns of ``Contact``), key -> label
    as the admin names them (lazy: read in the current language)::

        from core import native_fields

        choices = list(native_fields().items()) + [(f.key, f.label) for f in custom_fields()]
    """
    return {"email": _l("Email"), "first_name": _l("First name"), "last_name": _l("Last name")}


class ContactError(ValueError):
    """Invalid contact data. ``errors`` maps a field key to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))


def field_types():
    return current_app.extensions["couvee"].registries.field_types


def custom_fields(include_archived: bool = False) -> list[CustomField]:
    query = CustomField.select().order_by(CustomField.position, CustomField.id)
    if not include_archived:
        query = query.where(CustomField.archived == False)  # noqa: E712
    return list(query)


def parse_values(raw: dict, fields: list[CustomField] | None = None) -> tuple[dict, dict]:
    """Validate native and custom values given as text (form, CSV, JSON).

    Returns ``(parsed, errors)``; only keys present in ``raw`` are parsed.
    """
    parsed, errors = {}, {}
    if "email" in raw:
        try:
            parsed["email"] = normalize_email(raw["email"])
        except FieldValueError as error:
            errors["email"] = str(error)
    for key in ("first_name", "last_name"):
        if key in raw:
            parsed[key] = (raw[key] or "").strip()[:200]
    if "language" in raw:
        text = (raw["language"] or "").strip()
        parsed["language"] = valid_language(text) or ""
        if text and not parsed["language"]:
            errors["language"] = _("unknown language “%(language)s”: use one of %(languages)s", language=text,
                                   languages=", ".join(LANGUAGES))
    types = field_types()
    for custom in fields if fields is not None else custom_fields():
        if custom.key not in raw:
            continue
        field_type = types.get(custom.type_id)
        if field_type is None:
            errors[custom.key] = _("field type “%(type)s” is not available (is its plugin active?)", type=custom.type_id)
            continue
        try:
            parsed[custom.key] = field_type.parse(raw[custom.key], custom)
        except FieldValueError as error:
            errors[custom.key] = str(error)
    return parsed, errors


def get_values(contact: Contact) -> dict:
    """Custom values of a contact by field key (lists for multi-valued types)."""
    fields = {f.id: f for f in CustomField.select()}
    types = field_types()
    values: dict = {}
    for row in ContactValue.select().where(ContactValue.contact == contact.id):
        custom = fields[row.field_id]
        field_type = types.get(custom.type_id)
        if field_type is not None and field_type.multi_valued:
            values.setdefault(custom.key, []).append(row.value)
        else:
            values[custom.key] = row.value
    return values


def _store_custom(contact: Contact, custom: CustomField, value) -> None:
    ContactValue.delete().where((ContactValue.contact == contact.id) & (ContactValue.field == custom.id)).execute()
    if value is None or value == []:
        return
    values = value if isinstance(value, list) else [value]
    ContactValue.insert_many(
        [{"contact": contact.id, "field": custom.id, "value": str(v)} for v in values]
    ).execute()


def create_contact(raw: dict, source: str = "", owner: User | None = None, tags=()) -> Contact:
    parsed, errors = parse_values(raw)
    if parsed.get("email") and Contact.select().where(Contact.email == parsed["email"]).exists():
        errors["email"] = _("a contact with the email %(email)s already exists", email=parsed["email"])
    if parsed.get("email") and not errors:
        refused = suppressed_emails([parsed["email"]])
        if refused:
            errors["email"] = refused[parsed["email"]]
    if errors:
        raise ContactError(errors)
    fields = {f.key: f for f in custom_fields()}
    with write_transaction(current_app.extensions["couvee"].database):
        contact = Contact.create(
            email=parsed.get("email"),
            first_name=parsed.get("first_name", ""),
            last_name=parsed.get("last_name", ""),
            language=parsed.get("language", ""),
            owner=owner,
        )
        for key, value in parsed.items():
            if key in fields:
                _store_custom(contact, fields[key], value)
        emit(contact, "contact_created", {"source": source}, source=source)
        for tag in tags:
            add_tag(contact, tag, source=source)
    return contact


def suppressed_emails(emails: list[str]) -> dict[str, str]:
    """``{email: reason}`` for addresses a plugin refuses to (re)create
    (``contact_suppressed`` hook), e.g. people erased on their request."""
    if not emails:
        return {}
    refused: dict[str, str] = {}
    for _, answer in current_app.extensions["couvee"].hooks.call("contact_suppressed", emails=list(emails)):
        for email, reason in dict(answer).items():
            refused.setdefault(email, str(reason))
    return refused


def update_contact(contact: Contact, raw: dict, source: str = "") -> dict:
    """Apply changes; return ``{key: (old, new)}`` for what really changed."""
    parsed, errors = parse_values(raw)
    new_email = parsed.get("email")
    if new_email and new_email != contact.email and Contact.select().where(
        (Contact.email == new_email) & (Contact.id != contact.id)
    ).exists():
        errors["email"] = _("a contact with the email %(email)s already exists", email=new_email)
    if errors:
        raise ContactError(errors)
    fields = {f.key: f for f in custom_fields()}
    current = get_values(contact)
    changes = {}
    with write_transaction(current_app.extensions["couvee"].database):
        for key, value in parsed.items():
            if key in NATIVE_FIELDS:
                old = getattr(contact, key)
                if (old or None) != (value or None):
                    changes[key] = (old, value)
                    setattr(contact, key, value if key == "email" else (value or ""))
            elif key in fields:
                old = current.get(key)
                if old != value:
                    changes[key] = (old, value)
                    _store_custom(contact, fields[key], value)
        if changes:
            contact.updated_at = utcnow()
            contact.save()
            emit(contact, "contact_updated", {"changes": changes, "source": source}, source=source)
    return changes


def delete_contact(contact: Contact) -> None:
    snapshot = contact.snapshot()
    contact.delete_instance()
    enqueue(_dispatch_deleted, snapshot, queue="events")


def _dispatch_deleted(snapshot: dict) -> None:
    from .events import dispatch_contact_deleted

    dispatch_contact_deleted(snapshot)


def normalize_tag(name: str) -> str:
    tag = " ".join((name or "").split())[:100]
    if not tag:
        raise FieldValueError(_("a tag cannot be empty"))
    return tag


def add_tag(contact: Contact, name: str, source: str = "") -> bool:
    """Tag a contact; emits ``tag_added`` only when the tag is new on it."""
    tag_name = normalize_tag(name)
    tag = Tag.get_or_none(Tag.name == tag_name)
    if tag is None:
        Tag.insert(name=tag_name).on_conflict_ignore().execute()
        tag = Tag.get(Tag.name == tag_name)
    link = (ContactTag.contact == contact.id) & (ContactTag.tag == tag.id)
    if ContactTag.select().where(link).exists():
        return False
    ContactTag.insert(contact=contact.id, tag=tag.id).on_conflict_ignore().execute()
    emit(contact, "tag_added", {"tag": tag_name}, source=source)
    return True


def remove_tag(contact: Contact, name: str, source: str = "") -> bool:
    tag = Tag.get_or_none(Tag.name == normalize_tag(name))
    if tag is None:
        return False
    deleted = ContactTag.delete().where((ContactTag.contact == contact.id) & (ContactTag.tag == tag.id)).execute()
    if deleted:
        emit(contact, "tag_removed", {"tag": tag.name}, source=source)
    return bool(deleted)


def tags_of(contact: Contact) -> list[str]:
    return [
        row.name
        for row in Tag.select(Tag.name).join(ContactTag).where(ContactTag.contact == contact.id).order_by(Tag.name)
    ]


def can_receive(contact: Contact, channel: str, purpose: str) -> tuple[bool, list[str]]:
    """Ask every plugin whether ``contact`` may be contacted on ``channel`` for
    ``purpose``. Returns ``(allowed, vetoing plugin names)``; any veto wins."""
    answers = current_app.extensions["couvee"].hooks.call(
        "contact_can_receive", contact=contact, channel=channel, purpose=purpose
    )
    vetoes = [plugin for plugin, answer in answers if answer is False]
    return (not vetoes, vetoes)


def search_contacts(q: str):
    """The contacts whose email, first or last name contain every word of
    ``q`` (the contacts list's search, the REST API's ``q``, the CSV export),
    as a query to refine."""
    query = Contact.select()
    for word in q.split():  # typed % and _ are matched literally
        query = query.where(
            text_contains(Contact.email, word) | text_contains(Contact.first_name, word)
            | text_contains(Contact.last_name, word)
        )
    return query


def find_contact(raw: str | None) -> Contact | None:
    """The contact named exactly by ``raw``: an id, or an email address
    (normalised); None for anything else."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return Contact.get_or_none(Contact.id == int(raw))
    try:
        email = normalize_email(raw)
    except ValueError:
        return None
    return Contact.get_or_none(Contact.email == email)


def choose_contact(raw: str | None, limit: int = 10) -> tuple[Contact | None, list[Contact]]:
    """A "preview as" box: ``(contact, matches)`` for what the user typed.

    An id or an address names one contact (:func:`find_contact`); a name or
    part of an address searches the contacts having an address
    (:func:`search_contacts`): one match is the contact, several are the
    ``matches`` to choose from (at most ``limit``, by address), none gives
    ``(None, [])``. Example::

        contact, matches = choose_contact(request.values.get("contact"))
    """
    raw = (raw or "").strip()
    if not raw:
        return None, []
    contact = find_contact(raw)
    if contact is not None:
        return contact, []
    matches = list(search_contacts(raw).where(Contact.email.is_null(False)).order_by(Contact.email).limit(limit))
    if len(matches) == 1:
        return matches[0], []
    return None, matches
