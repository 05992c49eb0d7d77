"""Who a contact is for the programme: their funnel stage and their interests.

- **Stage** follows configurable rules, first match wins: the per-contact
  override; the customer field → ``loyalty``; an open opportunity field →
  ``transformation``; points ≥ the qualification threshold →
  ``qualification``; otherwise ``engagement``. Each of the three stages may
  also take the members of chosen segments (``Programme.stage_groups``, e.g.
  a dynamic segment "account status is customer" → ``loyalty``): a contact
  matching the field rule *or* in one of the segments is in that stage. The
  rules compile to one SQL ``CASE`` expression (:func:`stage_sql`) so the
  picker computes the stage of thousands of contacts in the same query that
  picks their content; segment membership is the audience source's own query
  (``core.audience_contact_ids``) nested as ``c.id IN (...)``, never a list of
  ids loaded here. With no active source the segment rules are left out
  (inert) and the stored choice is kept for when it comes back.
- **Interests** = the contact's own tags ∪ the tags of the segments they are
  in (a segment is a target audience whose tags say what it cares about).
  Segments are read through the ``"segment"`` audience source
  (``core.audience_groups``): with no active source, interests are the
  contact's own tags.
"""
from __future__ import annotations

from core import (Contact, ContactTag, ContactValue, CustomField, Tag, audience_contact_ids, audience_groups,
                  audience_source, db_proxy)

from .models import STAGES, Profile

#: the audience source whose groups (segments) target the programme and carry interest tags
AUDIENCE = "segment"


def _rule_sql(field_key: str, values: list[str], contact_ref: str) -> tuple[str, list]:
    """``EXISTS`` clause for "this custom field holds one of these values"
    (or, with no values, any value that is not blank or "no")."""
    field = CustomField.get_or_none(CustomField.key == field_key) if field_key else None
    if field is None:
        return "", []
    table = ContactValue._meta.table_name
    param = db_proxy.param
    if values:
        wanted = sorted({v.strip().lower() for v in values if v.strip()})
        marks = ", ".join([param] * len(wanted))
        return (f"EXISTS (SELECT 1 FROM {table} cv WHERE cv.contact_id = {contact_ref} "
                f"AND cv.field_id = {param} AND LOWER(cv.value) IN ({marks}))", [field.id, *wanted])
    return (f"EXISTS (SELECT 1 FROM {table} cv WHERE cv.contact_id = {contact_ref} "
            f"AND cv.field_id = {param} AND cv.value NOT IN ('', '0'))", [field.id])


def _member_sql(group_ids, contact_ref: str) -> tuple[str, list]:
    """``c.id IN (members of these groups)``, the audience source's own query
    nested in the statement; "" when no group is chosen or no source is active
    (the rule is inert)."""
    if not group_ids or audience_source(AUDIENCE) is None:
        return "", []
    members, params = audience_contact_ids(AUDIENCE, list(group_ids)).sql()
    return f"{contact_ref} IN ({members})", list(params)


def _either(*clauses: tuple[str, list]) -> tuple[str, list]:
    """The non-empty clauses joined by OR (``""`` when none)."""
    kept = [(sql, params) for sql, params in clauses if sql]
    if not kept:
        return "", []
    if len(kept) == 1:
        return kept[0]
    return "(" + " OR ".join(sql for sql, _ in kept) + ")", [p for _, params in kept for p in params]


def stage_sql(programme, contact_alias: str = "c", profile_alias: str = "p") -> tuple[str, list]:
    """A SQL expression giving the stage of contact ``c`` (its profile joined as ``p``)."""
    param = db_proxy.param
    contact_ref = f"{contact_alias}.id"
    groups = programme.stage_groups or {}
    parts, params = [f"CASE WHEN {profile_alias}.stage_override IS NOT NULL THEN {profile_alias}.stage_override"], []
    for stage, key, values in (("loyalty", programme.customer_field, programme.customer_values),
                               ("transformation", programme.opportunity_field, programme.opportunity_values)):
        clause, clause_params = _either(_rule_sql(key, values, contact_ref),
                                        _member_sql(groups.get(stage), contact_ref))
        if clause:
            parts.append(f"WHEN {clause} THEN '{stage}'")
            params += clause_params
    clause, clause_params = _either(_member_sql(groups.get("qualification"), contact_ref),
                                    (f"{contact_alias}.points >= {param}", [int(programme.qualification_threshold)]))
    parts.append(f"WHEN {clause} THEN 'qualification' ELSE 'engagement' END")
    params += clause_params
    return " ".join(parts), params


def stages_of(contact_ids: list[int], programme) -> dict[int, str]:
    """The stage of each given contact (same rules as the picker)."""
    if not contact_ids:
        return {}
    expression, params = stage_sql(programme)
    marks = ", ".join([db_proxy.param] * len(contact_ids))
    sql = (f"SELECT c.id, {expression} FROM {Contact._meta.table_name} c "
           f"LEFT JOIN {Profile._meta.table_name} p ON p.contact_id = c.id WHERE c.id IN ({marks})")
    return {row[0]: row[1] for row in db_proxy.execute_sql(sql, params + list(contact_ids))}


def stage_of(contact, programme) -> str:
    return stages_of([contact.id], programme).get(contact.id, "engagement")


def set_stage_override(contact, stage: str | None) -> None:
    """Force a contact's stage (``None`` or "" goes back to the rules)."""
    if stage and stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    Profile.insert(contact=contact.id, stage_override=stage or None).on_conflict(
        conflict_target=[Profile.contact], update={Profile.stage_override: stage or None}
    ).execute()


def stage_override_of(contact) -> str | None:
    row = Profile.get_or_none(Profile.contact == contact.id)
    return row.stage_override if row else None


def segment_tag_ids() -> dict[int, set[int]]:
    """segment id → ids of the core tags named in the segment's tags.

    Names with no core tag yet cannot match any content (contents carry core
    tags), so they are left out."""
    by_segment = {group.id: {n.strip().lower() for n in group.tags if n.strip()} for group in audience_groups(AUDIENCE)}
    names = set().union(*by_segment.values()) if by_segment else set()
    if not names:
        return {}
    ids = {t.name.lower(): t.id for t in Tag.select() if t.name.lower() in names}
    return {sid: {ids[n] for n in wanted if n in ids} for sid, wanted in by_segment.items() if wanted}


def interests_of(contact) -> dict[int, str]:
    """tag id → name for the contact's own tags and their segments' tags."""
    own = {t.id: t.name for t in Tag.select().join(ContactTag).where(ContactTag.contact == contact.id)}
    mapping = segment_tag_ids()
    segment_ids = [sid for sid in mapping if Contact.select(Contact.id).where(
        (Contact.id == contact.id) & Contact.id.in_(audience_contact_ids(AUDIENCE, [sid]))).exists()]
    extra = set().union(*(mapping.get(s, set()) for s in segment_ids)) if segment_ids else set()
    extra -= set(own)
    if extra:
        own.update({t.id: t.name for t in Tag.select().where(Tag.id.in_(list(extra)))})
    return own
