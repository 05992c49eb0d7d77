"""Visitor -> contact: forms (``link_visitor``), tracked email links
(``cv_t`` token) and ``identify`` calls.

``identify`` with an email is the dangerous one: the browser is not trusted,
so anyone could claim to be ``ceo@customer.com`` and see their visits (and,
through smart content, what is personalised for them) attached to that
contact. So an ``identify`` call links a visitor to an **existing** contact
only when it carries ``hash`` = HMAC-SHA256(site identify secret, email),
computed by the integrator's server for its logged-in user. Without a valid
hash it may only *create* a contact that does not exist yet, and only when
the site enables "identify_unverified"; otherwise it is ignored.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re

from core import (
    Contact, ContactError, FieldValueError, TokenError, create_contact, dispatch_many, emit, normalize_email,
    read_contact_token, utcnow, write_transaction,
)

from . import timeline
from .models import Hit, Site, Visitor

log = logging.getLogger("couvee.tracking")

TOKEN_PURPOSE = "tracking.identify"
TOKEN_MAX_AGE = dt.timedelta(days=90)
METHODS = ("form", "email_link", "identify")
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
HIT_COLUMNS = ("id", "site", "visitor", "kind", "url", "path", "title", "referrer", "name", "properties",
               "utm", "asset_id", "created_at")


def identify_hash(site: Site, email: str) -> str:
    """What the integrator's server computes: hex HMAC-SHA256 of the
    lower-cased email with the site's identify secret."""
    return hmac.new(site.identify_secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def link_visitor(visitor_id: str, contact: Contact, method: str = "form") -> int:
    """Attach visitor ``visitor_id`` (and its earlier anonymous visits) to
    ``contact``; return how many past hits were attached.

    The visitor's later hits go to the contact as they are drained. Another
    visitor id already linked to the contact stays linked too: the contact's
    history holds both (that is the merge). Past hits get their
    ``page_visited``/``custom_event``/``asset_downloaded`` events (with
    ``retroactive: true``) so segments and scoring see them; a first link, or
    a link to another contact, emits ``visitor_identified``. Idempotent."""
    if not isinstance(visitor_id, str) or not _VISITOR_ID.match(visitor_id):
        raise ValueError("not a visitor id")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    now = utcnow()
    with write_transaction():
        visitor = Visitor.get_or_none(Visitor.id == visitor_id)
        changed = visitor is None or visitor.contact_id != contact.id
        if visitor is None:
            Visitor.insert(id=visitor_id, contact=contact.id, identified_at=now).on_conflict_ignore().execute()
        elif changed:
            Visitor.update(contact=contact.id, identified_at=now).where(Visitor.id == visitor_id).execute()
        hits = list(Hit.select(*[getattr(Hit, c) for c in HIT_COLUMNS])
                    .where((Hit.visitor == visitor_id) & Hit.contact.is_null()).dicts())
        if hits:
            Hit.update(contact=contact.id).where(Hit.id.in_([h["id"] for h in hits])).execute()
        event_ids = timeline.write_events([(contact.id, hit) for hit in hits], retroactive=True)
        if changed:
            emit(contact, "visitor_identified", {"visitor_id": visitor_id, "method": method}, source="tracking")
    dispatch_many(event_ids)
    return len(hits)


def contact_from_email_token(token: str) -> Contact | None:
    """The contact named by a tracked email link's ``cv_t`` token, or None."""
    try:
        contact, _ = read_contact_token(TOKEN_PURPOSE, token, max_age=TOKEN_MAX_AGE)
    except TokenError:
        return None
    return contact


def contact_from_identify(site: Site, identity: dict) -> Contact | None:
    """The contact an ``identify`` call may link to, under the rules above."""
    try:
        email = normalize_email(identity.get("email"))
    except FieldValueError:
        return None
    if not email:
        return None
    given = identity.get("hash") or ""
    verified = bool(given) and hmac.compare_digest(identify_hash(site, email), given.lower())
    contact = Contact.get_or_none(Contact.email == email)
    if contact is not None:
        if not verified:
            log.info("unverified identify for an existing contact ignored (site %s)", site.id)
        return contact if verified else None
    if not (verified or site.identify_unverified):
        return None
    raw = {"email": email, "first_name": identity.get("first_name", ""), "last_name": identity.get("last_name", "")}
    try:
        return create_contact(raw, source="tracking")
    except (ContactError, FieldValueError) as error:
        log.info("identify could not create a contact: %s", error)
        return None
