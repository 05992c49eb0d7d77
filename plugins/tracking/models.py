"""Tracking tables: tracked sites, visitors (first-party ids), hits (page
views, custom events, downloads) and downloadable assets.

Hits arrive through a Redis stream (see ``plugins.tracking.ingest``) and are
written here in batches by the drain job (``plugins.tracking.drain``); nothing is
written per request.
"""
from __future__ import annotations

import secrets

import peewee

from core import BaseModel, Contact, JSONField, StoredFile, UTCDateTimeField, utcnow


def new_site_key() -> str:
    """The public key a site's snippet carries (not a secret: it only names the site)."""
    return "cv" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


def new_identify_secret() -> str:
    return secrets.token_hex(32)


class Site(BaseModel):
    """A website that embeds the tracking snippet.

    ``allowed_origins`` are exact origins (``https://www.example.com``) or a
    subdomain wildcard (``https://*.example.com``); hits from any other
    origin are refused. ``require_consent`` (default on) keeps the script
    silent and storage-free until the visitor consents. ``identify_secret``
    signs ``identify`` calls made by the integrator's server (see
    docs/tracking.md); ``identify_unverified`` lets an unsigned ``identify``
    create *new* contacts (never attach visits to an existing one)."""

    name = peewee.CharField()
    key = peewee.CharField(unique=True, default=new_site_key)
    allowed_origins = JSONField(default=list)
    require_consent = peewee.BooleanField(default=True)
    honour_dnt = peewee.BooleanField(default=True)
    identify_unverified = peewee.BooleanField(default=False)
    identify_secret = peewee.CharField(default=new_identify_secret)
    #: hits accepted per minute from one IP address
    rate_limit = peewee.IntegerField(default=120)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "tracking_site"


class Visitor(BaseModel):
    """A browser's first-party id (random, made by the script after consent).

    ``contact`` is set once the visitor is identified; several visitor ids
    (phone, laptop, cleared storage) can point at one contact: that is how two
    visitors of one person merge."""

    id = peewee.CharField(primary_key=True, max_length=64)
    site = peewee.ForeignKeyField(Site, null=True, backref="visitors", on_delete="SET NULL")
    contact = peewee.ForeignKeyField(Contact, null=True, backref="visitors", on_delete="SET NULL")
    first_seen_at = UTCDateTimeField(default=utcnow)
    last_seen_at = UTCDateTimeField(default=utcnow, index=True)
    identified_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "tracking_visitor"
        indexes = ((("contact",), False),)


class Hit(BaseModel):
    """One page view, custom event or download. ``hit_id`` (made by the script,
    or the stream entry id) makes a replayed batch insert nothing twice."""

    site = peewee.ForeignKeyField(Site, null=True, backref="hits", on_delete="CASCADE")
    hit_id = peewee.CharField(max_length=64, unique=True)
    visitor = peewee.CharField(max_length=64, null=True)
    contact = peewee.ForeignKeyField(Contact, null=True, backref="hits", on_delete="CASCADE")
    kind = peewee.CharField(default="page")  # page | event | download
    url = peewee.TextField(default="")
    path = peewee.TextField(default="")
    title = peewee.TextField(default="")
    referrer = peewee.TextField(default="")
    name = peewee.CharField(default="")  # event name, asset title
    properties = JSONField(default=dict)
    utm = JSONField(default=dict)
    language = peewee.CharField(default="")
    screen = peewee.CharField(default="")
    timezone = peewee.CharField(default="")
    asset_id = peewee.IntegerField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "tracking_hit"
        indexes = (
            (("site", "created_at"), False),
            (("visitor", "created_at"), False),
            (("contact", "created_at"), False),
            (("created_at",), False),
        )


class Asset(BaseModel):
    """A downloadable resource (white paper...) served through a tracked link."""

    title = peewee.CharField()
    slug = peewee.CharField(unique=True, default=lambda: secrets.token_urlsafe(9))
    file = peewee.ForeignKeyField(StoredFile, on_delete="CASCADE")
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "tracking_asset"


TRACKING_MODELS = [Site, Visitor, Hit, Asset]
