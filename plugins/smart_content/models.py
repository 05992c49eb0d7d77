"""Smart content tables.

- :class:`Feed` — an RSS/Atom source polled periodically (ETag/Last-Modified kept).
- :class:`Content` — one item of the library (from a feed, by hand or via the API),
  with its weight (``score``), funnel ``stage`` and core tags (:class:`ContentTag`).
- :class:`Profile` — per-contact state: the stage override and the time of the last
  marketing email (ours or a workflow's), which drives the frequency.
- :class:`Pick` — the send log: one row per contact and send date (the unique
  claim that prevents double sends), with the content chosen and why.
- :class:`ProgrammeRow` — the sending programme's settings (a single row).
"""
from __future__ import annotations

import peewee

from core import BaseModel, Contact, JSONField, Tag, UTCDateTimeField, translation_domain, utcnow

_l = translation_domain(__name__).lazy_gettext

STAGES = ("engagement", "qualification", "transformation", "loyalty")
STAGE_LABELS = {
    "engagement": _l("Engagement"),
    "qualification": _l("Qualification"),
    "transformation": _l("Transformation"),
    "loyalty": _l("Loyalty"),
}
SOURCES = ("feed", "manual", "api")
SOURCE_LABELS = {"feed": _l("feed"), "manual": _l("by hand"), "api": _l("API")}
#: what :meth:`Content.missing` names (identifiers, also in the API), as shown in the admin
MISSING_LABELS = {"image": _l("image"), "excerpt": _l("excerpt"), "stage": _l("stage"), "tags": _l("tags")}
#: ``Pick.status`` as shown in the admin
STATUS_LABELS = {"claimed": _l("queued"), "sent": _l("sent"), "skipped": _l("skipped"), "failed": _l("failed"),
                 "no_content": _l("no content"), "test": _l("test")}


class Feed(BaseModel):
    name = peewee.CharField(default="")
    url = peewee.CharField(max_length=2000, unique=True)
    active = peewee.BooleanField(default=True)
    etag = peewee.CharField(max_length=500, default="")
    last_modified = peewee.CharField(max_length=200, default="")
    last_fetched_at = UTCDateTimeField(null=True)
    #: "ok", "not modified", or empty before the first fetch
    last_status = peewee.CharField(default="")
    #: why the last fetch failed, in words; empty when it worked
    last_error = peewee.TextField(default="")
    items_added = peewee.IntegerField(default=0)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "smart_content_feed"


class Content(BaseModel):
    title = peewee.CharField(max_length=500)
    url = peewee.CharField(max_length=2000, unique=True)
    image_url = peewee.CharField(max_length=2000, default="")
    excerpt = peewee.TextField(default="")
    #: sanitised HTML body from the feed (``content:encoded``), for reference
    body = peewee.TextField(default="")
    score = peewee.IntegerField(default=0)
    stage = peewee.CharField(null=True)
    source = peewee.CharField(default="manual")
    feed = peewee.ForeignKeyField(Feed, null=True, backref="contents", on_delete="SET NULL")
    #: categories the feed gave that are not (yet) core tags, as hints for completion
    suggested_tags = JSONField(default=list)
    active = peewee.BooleanField(default=True)
    published_at = UTCDateTimeField(default=utcnow)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "smart_content_content"
        indexes = ((("stage", "active"), False),)

    def missing(self, tag_count: int) -> list[str]:
        """What an editor still has to fill in before the content can be picked well."""
        gaps = []
        if not self.image_url:
            gaps.append("image")
        if not self.excerpt:
            gaps.append("excerpt")
        if not self.stage:
            gaps.append("stage")
        if not tag_count:
            gaps.append("tags")
        return gaps


class ContentTag(BaseModel):
    content = peewee.ForeignKeyField(Content, backref="tag_links", on_delete="CASCADE")
    tag = peewee.ForeignKeyField(Tag, on_delete="CASCADE")

    class Meta:
        table_name = "smart_content_content_tag"
        primary_key = peewee.CompositeKey("content", "tag")
        indexes = ((("tag", "content"), True),)


class Profile(BaseModel):
    contact = peewee.ForeignKeyField(Contact, primary_key=True, on_delete="CASCADE")
    stage_override = peewee.CharField(null=True)
    #: last marketing email received (smart content or workflow), drives "every N days"
    last_email_at = UTCDateTimeField(null=True, index=True)

    class Meta:
        table_name = "smart_content_profile"


class Pick(BaseModel):
    """One programme decision for a contact on a send date (unique): the claim."""

    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE")
    send_date = peewee.DateField()
    content = peewee.ForeignKeyField(Content, null=True, on_delete="SET NULL")
    #: claimed | sent | skipped | failed | no_content | test
    status = peewee.CharField(default="claimed")
    reason = peewee.TextField(default="")
    stage = peewee.CharField(default="")
    matching_tags = JSONField(default=list)
    score = peewee.IntegerField(default=0)
    run_id = peewee.CharField(default="")
    email_id = peewee.CharField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    sent_at = UTCDateTimeField(null=True)
    opened_at = UTCDateTimeField(null=True)
    clicked_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "smart_content_pick"
        indexes = (
            (("contact", "send_date"), True),
            (("contact", "content", "send_date"), False),
            (("run_id",), False),
            (("send_date", "status"), False),
            (("email_id",), False),
        )


class ProgrammeRow(BaseModel):
    id = peewee.IntegerField(primary_key=True)
    values = JSONField(default=dict)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "smart_content_programme"


MODELS = [Feed, Content, ContentTag, Profile, Pick, ProgrammeRow]
