"""Scoring tables.

- :class:`PointChange` is the **ledger**: one row per change of a contact's
  score, with its reason and where it came from. ``Contact.points`` is always
  the sum of a contact's rows (both are written in one transaction).
- :class:`PointAction` (Points > Actions) gives points once per contact when
  an event matches; :class:`PointAward` is the claim that makes it once: a
  unique ``(point_action, contact)`` row inserted in the ledger's transaction.
- :class:`PointTrigger` (Points > Triggers) runs actions when a contact reaches
  a threshold; :class:`TriggerFiring` is its unique ``(trigger, contact)`` claim.
- :class:`ScoringSettings` holds the tiers and the decay (one row).
"""
from __future__ import annotations

import peewee

from core import BaseModel, Contact, JSONField, User, UTCDateTimeField, translation_domain, utcnow

_l = translation_domain(__name__).lazy_gettext

#: where a change came from (``PointChange.source_type``)
SOURCE_TYPES = {
    "point_action": _l("Point action"),
    "trigger": _l("Point trigger"),
    "workflow": _l("Workflow"),
    "form": _l("Form"),
    "manual": _l("Manual edit"),
    "decay": _l("Decay"),
    "action": _l("Action"),
}


class PointChange(BaseModel):
    """A line of the ledger (the explainable score)."""

    contact = peewee.ForeignKeyField(Contact, backref="point_changes", on_delete="CASCADE")
    delta = peewee.IntegerField()
    #: the contact's points right after this change
    total = peewee.IntegerField()
    reason = peewee.TextField(default="")
    source_type = peewee.CharField(max_length=32)
    source_id = peewee.CharField(max_length=64, default="")
    event_id = peewee.BigIntegerField(null=True)
    #: idempotency key: a change with the same key is applied once
    key = peewee.CharField(max_length=200, null=True, unique=True)
    user = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = UTCDateTimeField(default=utcnow)
    #: decay by expiry: this row's points were taken back by a later decay row
    expired = peewee.BooleanField(default=False)
    #: rows written together by one set-based run (decay), to find them again
    batch = peewee.CharField(max_length=40, null=True, index=True)

    class Meta:
        table_name = "scoring_point_change"
        indexes = (
            (("contact", "created_at"), False),
            (("expired", "created_at"), False),
        )


class PointAction(BaseModel):
    """Points given once per contact when an event of ``kind`` matches."""

    name = peewee.CharField()
    delta = peewee.IntegerField()
    kind = peewee.CharField(max_length=64)
    #: a form, asset or email id the event must carry ("" = any)
    target_id = peewee.CharField(max_length=64, default="")
    #: for events with a URL (page_visited, email_clicked): "" = any URL
    url_pattern = peewee.CharField(max_length=500, default="")
    url_mode = peewee.CharField(max_length=8, default="glob")  # glob | regex
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "scoring_point_action"
        indexes = ((("kind", "active"), False),)


class PointAward(BaseModel):
    """The once-per-contact claim of a point action."""

    point_action = peewee.ForeignKeyField(PointAction, backref="awards", on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, backref="point_awards", on_delete="CASCADE")
    event_id = peewee.BigIntegerField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "scoring_point_award"
        indexes = ((("point_action", "contact"), True), (("contact",), False))


class PointTrigger(BaseModel):
    """Run ``actions`` once per contact when its points reach ``threshold``.

    ``actions`` is a list of ``{"action": registry id, "settings": {...}}``.
    A retroactive trigger is also applied, by a batched background job, to the
    contacts who already had the points when it was saved.
    """

    name = peewee.CharField()
    threshold = peewee.IntegerField()
    retroactive = peewee.BooleanField(default=False)
    actions = JSONField(default=list)
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)
    #: retroactive application: "" | queued | running | done | failed
    retro_status = peewee.CharField(max_length=16, default="")
    retro_total = peewee.IntegerField(default=0)
    retro_done = peewee.IntegerField(default=0)
    retro_batches = peewee.IntegerField(default=0)
    retro_error = peewee.TextField(default="")

    class Meta:
        table_name = "scoring_point_trigger"


class TriggerFiring(BaseModel):
    """The once-per-contact claim of a trigger, and whether its actions ran."""

    trigger = peewee.ForeignKeyField(PointTrigger, backref="firings", on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, backref="trigger_firings", on_delete="CASCADE")
    total = peewee.IntegerField()
    created_at = UTCDateTimeField(default=utcnow)
    announced_at = UTCDateTimeField(null=True)
    done_at = UTCDateTimeField(null=True)
    error = peewee.TextField(default="")

    class Meta:
        table_name = "scoring_trigger_firing"
        indexes = ((("trigger", "contact"), True), (("done_at", "created_at"), False))


DECAY_MODES = {"off": _l("Off"), "percent": _l("Lose a share of the points after a period without interaction"),
               "expire": _l("Points expire after a number of days")}


class ScoringSettings(BaseModel):
    """Tiers and decay (a single row, id 1)."""

    warm_from = peewee.IntegerField(default=25)
    hot_from = peewee.IntegerField(default=75)
    decay_mode = peewee.CharField(max_length=16, default="off")
    decay_percent = peewee.IntegerField(default=10)
    decay_period_days = peewee.IntegerField(default=30)
    expire_days = peewee.IntegerField(default=180)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "scoring_settings"


MODELS = [PointChange, PointAction, PointAward, PointTrigger, TriggerFiring, ScoringSettings]
