"""The audience registry: groups of contacts that sends target, whoever keeps
them (see :class:`core.AudienceSource`, filled by ``register_audience_sources``).

Features that send (email, smart content, workflows) read groups and their
members only through these functions, so they keep working, reaching nobody
and saying so, when the plugin owning a source is switched off::

    from core import audience_contact_ids, audience_groups

    audience_groups("segment")                  # [AudienceGroup(id, name, size, ...)], [] when inactive
    Contact.id.in_(audience_contact_ids("segment", [3, 4]))   # members of any of them
"""
from __future__ import annotations

from flask import current_app

from .extension import AudienceGroup, AudienceSource
from .models import Contact


class AudienceUnavailable(LookupError):
    """No active plugin provides this audience source (or this capability)."""


def audience_source(source_id: str) -> AudienceSource | None:
    """The active source ``source_id``, or None."""
    return current_app.extensions["couvee"].registries.audience_sources.get(source_id)


def audience_groups(source_id: str) -> list[AudienceGroup]:
    """The groups of a source, for pickers (``[]`` when it is not active)."""
    source = audience_source(source_id)
    return list(source.groups()) if source else []


def audience_group(source_id: str, group_id) -> AudienceGroup | None:
    """One group of a source by id, or None (unknown id, inactive source)."""
    wanted = str(group_id)
    return next((group for group in audience_groups(source_id) if str(group.id) == wanted), None)


def nobody():
    """A query of contact ids that finds none (the audience of a missing source)."""
    return Contact.select(Contact.id).where(Contact.id.is_null())


def audience_contact_ids(source_id: str, group_ids):
    """A query of the ids of the contacts in any of ``group_ids`` (nobody
    when the list is empty or the source is not active)."""
    source = audience_source(source_id)
    ids = [int(group_id) for group_id in (group_ids or ())]
    if source is None or not ids:
        return nobody()
    return source.contact_ids(ids)


def audience_memberships(source_id: str):
    """A query of ``(contact id, group id)`` rows, or None when the source is
    not active or does not tell."""
    source = audience_source(source_id)
    return source.memberships() if source and source.memberships else None


def add_to_audience(source_id: str, group_id: int, contact_ids: list[int], origin: str) -> int:
    """Add contacts to an open group; :class:`AudienceUnavailable` when the
    source is not active or takes no additions, ``ValueError`` (a message for
    the user) when this group cannot take them."""
    source = audience_source(source_id)
    if source is None or source.add_contacts is None:
        raise AudienceUnavailable(source_id)
    return source.add_contacts(int(group_id), list(contact_ids), origin)


def define_audience(source_id: str, name: str, definition: dict, description: str = "",
                    tags=()) -> AudienceGroup:
    """The group ``name`` of a source, kept from ``definition`` (created the
    first time, refreshed now); :class:`AudienceUnavailable` when the source
    is not active or cannot define groups."""
    source = audience_source(source_id)
    if source is None or source.define is None:
        raise AudienceUnavailable(source_id)
    return source.define(name, definition, description, tuple(tags))
