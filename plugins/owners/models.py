"""Tables of the owners plugin: the ordered assignment rules and the
round-robin turn counter."""
from __future__ import annotations

import peewee

from core import BaseModel, User, UTCDateTimeField, utcnow

#: rule operators: label shown in the admin
OPERATORS = {"is": "is", "contains": "contains"}


class AssignmentRule(BaseModel):
    """"If field ``field_key`` is/contains ``value`` then the owner is ``owner``".

    ``field_key`` is a native field (``email``, ``first_name``, ``last_name``)
    or a custom field key (keys never change, so a rule survives a renamed
    label). Rules are tried by ``position``; the first that matches wins.
    """

    position = peewee.IntegerField(default=0, index=True)
    field_key = peewee.CharField()
    operator = peewee.CharField(default="is")
    value = peewee.CharField()
    owner = peewee.ForeignKeyField(User, backref="assignment_rules", on_delete="CASCADE")
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "owners_assignment_rule"

    def describe(self) -> str:
        """``zone is EMEA`` — the condition in words (for events and logs)."""
        return f"{self.field_key} {OPERATORS.get(self.operator, self.operator)} {self.value}"


class RoundRobinCounter(BaseModel):
    """How many round-robin turns were taken. Incremented inside the
    assignment's transaction, so concurrent workers never share a turn."""

    name = peewee.CharField(primary_key=True)
    turns = peewee.BigIntegerField(default=0)

    class Meta:
        table_name = "owners_round_robin"


OWNERS_MODELS = [AssignmentRule, RoundRobinCounter]
