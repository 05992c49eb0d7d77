"""Segment tables: the segment definition and its materialised membership.

``Segment.filter`` holds the dynamic definition as JSON::

    {"match": "all", "groups": [
        {"match": "all", "conditions": [
            {"filter": "field", "params": {"field": "zone", "operator": "equals", "value": "EMEA"}},
            {"filter": "tag", "params": {"operator": "has", "value": "webinar"}}]}]}

``match`` is ``all`` (AND) or ``any`` (OR), between groups and inside a group.
"""
from __future__ import annotations

import peewee

from core import BaseModel, Contact, JSONField, UTCDateTimeField, utcnow

KINDS = ("static", "dynamic")
SOURCES = ("manual", "import", "api", "action", "filter")


def empty_definition() -> dict:
    return {"match": "all", "groups": []}


class Segment(BaseModel):
    name = peewee.CharField()
    description = peewee.TextField(default="")
    kind = peewee.CharField(default="static")  # static | dynamic
    filter = JSONField(default=empty_definition)
    #: free labels (smart content picks content by the segments' tags)
    tags = JSONField(default=list)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)
    last_rebuilt_at = UTCDateTimeField(null=True)
    #: cached count, kept exact by rebuilds and adjusted by single changes
    member_count = peewee.IntegerField(default=0)
    #: why the last rebuild failed (e.g. a filter's plugin was deactivated); empty when it worked
    rebuild_error = peewee.TextField(default="")

    @property
    def is_dynamic(self) -> bool:
        return self.kind == "dynamic"


class SegmentMember(BaseModel):
    segment = peewee.ForeignKeyField(Segment, backref="members", on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, backref="segment_links", on_delete="CASCADE")
    added_at = UTCDateTimeField(default=utcnow)
    source = peewee.CharField(default="manual")  # manual | import | api | action | filter

    class Meta:
        primary_key = peewee.CompositeKey("segment", "contact")
        indexes = ((("contact",), False),)


class SegmentCandidate(BaseModel):
    """Scratch table (temporary, per connection) holding the contact ids a
    rebuild computed, so the compiled query runs once per rebuild."""

    contact_id = peewee.IntegerField(primary_key=True)

    class Meta:
        table_name = "segment_candidate"
        temporary = True


SEGMENT_MODELS = [Segment, SegmentMember]
