"""Core's audience registry (``register_audience_sources``): the segments
plugin fills it with the ``"segment"`` source; the features that send read
groups and members only through ``core.audience_*``, which answer "nobody"
when no active plugin provides a source."""
from __future__ import annotations

import pytest

from core import (AudienceGroup, AudienceUnavailable, add_to_audience, audience_contact_ids, audience_group,
                  audience_groups, audience_memberships, contacts, define_audience)
from core.models import Contact

from plugins.segments import Segment, add_to_segment


def _contact(email):
    return contacts.create_contact({"email": email}, source="test")


def test_hook_register_audience_sources(ctx):
    sources = ctx.extensions["couvee"].registries.audience_sources
    assert "segment" in sources
    assert sources.owner("segment") == "segments"
    ada, bob, cy = _contact("ada@example.com"), _contact("bob@example.com"), _contact("cy@example.com")
    clients = Segment.create(name="Clients", tags=["crm"])
    prospects = Segment.create(name="Prospects")
    add_to_segment(ada, clients)
    add_to_segment(bob, prospects)
    add_to_segment(cy, prospects)

    groups = audience_groups("segment")
    assert [(g.id, g.name, g.size, g.tags, g.open) for g in groups] == [
        (clients.id, "Clients", 1, ("crm",), True), (prospects.id, "Prospects", 2, (), True)]
    assert audience_group("segment", prospects.id).name == "Prospects"
    assert audience_group("segment", 999999) is None

    def members(ids):
        return {c.email for c in Contact.select().where(Contact.id.in_(audience_contact_ids("segment", ids)))}

    assert members([prospects.id]) == {"bob@example.com", "cy@example.com"}
    assert members([clients.id, prospects.id]) == {"ada@example.com", "bob@example.com", "cy@example.com"}
    assert members([]) == set()
    pairs = {(row.contact_id, row.segment_id) for row in audience_memberships("segment")}
    assert pairs == {(ada.id, clients.id), (bob.id, prospects.id), (cy.id, prospects.id)}

    assert add_to_audience("segment", clients.id, [bob.id, cy.id], "import") == 2
    assert members([clients.id]) == {"ada@example.com", "bob@example.com", "cy@example.com"}


def test_define_keeps_one_dynamic_group_per_name(ctx):
    _contact("ada@example.com")
    tagged = contacts.create_contact({"email": "bob@example.com"}, source="test")
    contacts.add_tag(tagged, "vip")
    definition = {"match": "all", "groups": [{"match": "all", "conditions": [
        {"filter": "tag", "params": {"operator": "has", "value": "vip"}}]}]}
    group = define_audience("segment", "VIPs", definition, tags=["vip"])
    assert isinstance(group, AudienceGroup) and (group.name, group.size, group.open) == ("VIPs", 1, False)
    again = define_audience("segment", "VIPs", definition)
    assert again.id == group.id
    with pytest.raises(ValueError):
        add_to_audience("segment", group.id, [tagged.id], "import")  # dynamic: its filter decides


def test_an_unknown_source_reaches_nobody(ctx):
    _contact("ada@example.com")
    assert audience_groups("nowhere") == []
    assert audience_group("nowhere", 1) is None
    assert Contact.select().where(Contact.id.in_(audience_contact_ids("nowhere", [1]))).count() == 0
    assert audience_memberships("nowhere") is None
    with pytest.raises(AudienceUnavailable):
        add_to_audience("nowhere", 1, [1], "import")
    with pytest.raises(AudienceUnavailable):
        define_audience("nowhere", "x", {})
