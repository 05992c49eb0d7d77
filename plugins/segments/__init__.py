"""Segments (lists): static lists filled by hand, import, API or actions, and
dynamic segments defined by a filter and kept current as contacts change:
their tables (:mod:`.models`), filters and their compilation
(:mod:`.filters`, :mod:`.operators`, :mod:`.compiler`, :mod:`.planning`),
membership (:mod:`.membership`), admin pages and builder (:mod:`.views`,
:mod:`.builder`), REST endpoints (:mod:`.api`), the ``segment_joined`` /
``segment_left`` kinds (:mod:`.kinds`), the ``segment.add`` /
``segment.remove`` actions and the ``"segment"`` audience source
(:mod:`.audience`) through which email, smart content, workflows, imports and
GDPR reach segments without importing this package.

Driving it from Python (tests, benchmarks)::

    from plugins.segments import add_to_segment, rebuild, refresh_contact

    add_to_segment(contact, segment, source="manual")   # static lists
    remove_from_segment(contact, segment, source="manual")
    add_contacts_to_segment(segment, contact_ids, source="import")
    segments_of(contact)            # [Segment]
    rebuild(segment)                # set-based, emits segment_joined/left
    refresh_contact(contact)        # re-evaluate one contact, no scan
    compile_segment(segment)        # peewee query of the member contact ids

It was core's internal plugin ``core_segments`` until issue 18; its manifest
says ``formerly = "core_segments"`` so existing installs keep their tables and
migration history. Deactivated, its menu entry, pages, API routes, contact
panel, event kinds, actions, hourly rebuild and audience source disappear
(newsletters then reach nobody and say so); its tables are kept. Core keeps
the ``SegmentFilter`` type and the ``register_segment_filters`` hook: other
plugins' filters are simply unused while it is off. See docs/segments.md.
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import Action, AdminMenuItem, Migration, PeriodicJob, Setting, batch_memo, hookimpl, translation_domain

from . import membership
from .compiler import DefinitionError, compile_definition, compile_segment, normalize_definition, validate_definition
from .operators import SegmentFilterError
from .membership import (
    SegmentError,
    add_contacts_to_segment,
    add_to_segment,
    get_segment,
    rebuild,
    refresh_contact,
    remove_from_segment,
    request_rebuild,
    segment_members,
    segments_of,
    static_segments,
)
from .dependencies import dependents_of
from .filters import core_filters
from .models import SEGMENT_MODELS, Segment, SegmentMember
from .words import describe_definition

__all__ = [
    "DefinitionError", "Segment", "SegmentError", "SegmentFilterError", "SegmentMember",
    "add_contacts_to_segment", "add_to_segment", "compile_definition", "compile_segment",
    "describe_definition", "get_segment", "normalize_definition", "rebuild", "refresh_contact",
    "remove_from_segment", "request_rebuild", "segment_members", "segments_of", "static_segments",
    "validate_definition",
]

# The contact_* hooks run after the other plugins' (trylast), as they did when
# segments were core's: membership is evaluated once the plugins reacting to
# the same event (the GDPR ledger, owner assignment...) have stored its effect.
# The contact page's panel keeps its place last in the sidebar the same way.

#: changes found by the segments themselves: their dependents were handled then
_SELF_MADE = ("filter", "rebuild")
_l = translation_domain(__name__).lazy_gettext


@hookimpl
def register_models():
    return list(SEGMENT_MODELS)


@hookimpl
def register_migrations():
    return [Migration.create_tables(1, "segments and their members", SEGMENT_MODELS)]


@hookimpl
def register_event_kinds():
    from .kinds import segment_event_kinds

    return segment_event_kinds()


@hookimpl
def register_segment_filters(event_kinds):
    return core_filters(event_kinds)


@hookimpl
def register_audience_sources():
    from .audience import audience_source

    return [audience_source()]


@hookimpl
def register_blueprints():
    from .api import segments_api
    from .views import segments_admin

    return [segments_admin, segments_api]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("segments", _l("Segments"), "segments.index", order=20)]


@hookimpl
def register_periodic_jobs():
    return [PeriodicJob("segments.rebuild_time_relative", membership.rebuild_time_relative, interval=3600)]


def _action_segment(settings: dict):
    raw = (settings or {}).get("segment_id")
    if raw in (None, ""):
        raise membership.SegmentError("The action has no segment_id setting.")
    return membership.get_segment(int(raw))


def run_add(contact, settings, context=None):
    """Action ``segment.add``: put the contact in a static list (idempotent)."""
    return membership.add_to_segment(contact, _action_segment(settings), source="action")


def run_remove(contact, settings, context=None):
    """Action ``segment.remove``: take the contact out of a static list."""
    return membership.remove_from_segment(contact, _action_segment(settings), source="action")


_SEGMENT_SETTING = [Setting("segment_id", _l("Static list"), kind="int", required=True,
                            help=_l("The id of a static list (see Segments)."))]


@hookimpl
def register_actions():
    return [
        Action("segment.add", _l("Add to a static list"), run=run_add, settings=list(_SEGMENT_SETTING),
               description=_l("Adds the contact to a static list; does nothing if it is already in.")),
        Action("segment.remove", _l("Remove from a static list"), run=run_remove, settings=list(_SEGMENT_SETTING),
               description=_l("Removes the contact from a static list.")),
    ]


@hookimpl(trylast=True)
def contact_created(contact):
    membership.refresh_contact(contact)


@hookimpl(trylast=True)
def contact_updated(contact, changes):
    membership.refresh_contact(contact)


@hookimpl(trylast=True)
def contact_event(event):
    """Re-evaluate, after anything the contact did, the dynamic segments an
    event of that kind can change (``SegmentFilter.changed_by``).

    Creation and updates are handled by the two hooks above. Our own
    ``segment_joined``/``segment_left`` only matter to segments filtering on
    that segment, and only for manual changes (a filter-made change already
    re-evaluated its dependents, in order), so there is no loop.
    """
    if event.kind in ("contact_created", "contact_updated"):
        return
    if event.kind in (membership.JOINED, membership.LEFT):
        data = event.data or {}
        if data.get("via") in _SELF_MADE or not data.get("segment_id"):
            return
        dependents = dependents_of([int(data["segment_id"])])
        if dependents:
            membership.refresh_contact(event.contact_id, segments=dependents)
        return
    affected = batch_memo(f"segments.changed_by:{event.kind}", lambda: membership.segments_changed_by(event.kind))
    if affected:
        membership.refresh_contact(event.contact_id, segments=affected)


@hookimpl(trylast=True)
def contact_deleted(contact):
    membership.recount_all()


@hookimpl(trylast=True)
def tpl_slot(slot, context):
    if slot != "contact_sidebar" or context.get("contact") is None:
        return None
    contact = context["contact"]
    return Markup(render_template(
        "segments/contact_panel.html", contact=contact,
        member_of=membership.segments_of(contact), lists=membership.static_segments(),
    ))
