"""Creating, changing and deleting segments (shared by the admin and the API)."""
from __future__ import annotations

import logging

from core import translation_domain, utcnow, write_transaction
from .compiler import DefinitionError, normalize_definition, validate_definition
from .dependencies import referenced_segments
from .membership import request_rebuild
from .models import KINDS, Segment, empty_definition

log = logging.getLogger("couvee.segments")

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_TAGS = 20
MAX_TAG = 50
_, ngettext = translation_domain(__name__).gettext, translation_domain(__name__).ngettext


class SegmentFormError(ValueError):
    """Invalid segment data. ``errors`` maps ``name``, ``kind``, ``tags``,
    ``definition`` or a condition key (``g0-c1``) to a message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))


def clean_tags(raw) -> list[str]:
    """Tags from a list or comma-separated text: trimmed, unique, in order."""
    items = raw if isinstance(raw, (list, tuple)) else str(raw or "").split(",")
    tags = []
    for item in items:
        tag = " ".join(str(item).split())
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _check(name: str, kind: str, description: str, tags: list[str]) -> dict[str, str]:
    errors = {}
    if not name:
        errors["name"] = _("Give the segment a name.")
    elif len(name) > MAX_NAME:
        errors["name"] = _("The name is %(length)s characters long; the maximum is %(maximum)s.",
                           length=len(name), maximum=MAX_NAME)
    if kind not in KINDS:
        errors["kind"] = _("Choose static (a list you fill) or dynamic (a filter).")
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = _("The description is too long (maximum %(maximum)s characters).",
                                  maximum=MAX_DESCRIPTION)
    if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG for tag in tags):
        errors["tags"] = _("Use at most %(tags)s tags of at most %(length)s characters.", tags=MAX_TAGS, length=MAX_TAG)
    return errors


def save_segment(segment: Segment | None, *, name: str, kind: str, definition=None,
                 description: str = "", tags=()) -> Segment:
    """Create (``segment`` None) or update a segment after validating
    everything; a dynamic segment whose filter changed is rebuilt by a job.

    Raises :class:`SegmentFormError` with every problem at once.
    """
    name, description, tags = (name or "").strip(), (description or "").strip(), clean_tags(tags)
    errors = _check(name, kind, description, tags)
    try:
        definition = normalize_definition(definition) if kind == "dynamic" else empty_definition()
    except DefinitionError as error:
        errors.update(error.errors)
        definition = empty_definition()
    if kind == "dynamic" and not errors:
        errors.update(validate_definition(definition, segment.id if segment else None))
    if errors:
        raise SegmentFormError(errors)
    changed = segment is None or segment.kind != kind or segment.filter != definition
    with write_transaction():
        if segment is None:
            segment = Segment.create(name=name, kind=kind, filter=definition, description=description, tags=tags)
        else:
            segment.name, segment.kind, segment.filter = name, kind, definition
            segment.description, segment.tags, segment.updated_at = description, tags, utcnow()
            segment.save()
    if kind == "dynamic" and changed:
        try:
            request_rebuild(segment)
        except Exception:  # Redis away: saved anyway; "Rebuild now" or the next change will compute it
            log.exception("could not queue the rebuild of segment %s", segment.id)
    return segment


def dependents_blocking_delete(segment: Segment) -> list[Segment]:
    """Dynamic segments whose filter uses ``segment`` (it cannot be deleted
    while they do)."""
    return [other for other in Segment.select().where((Segment.kind == "dynamic") & (Segment.id != segment.id))
            if segment.id in referenced_segments(other.filter)]


def delete_segment(segment: Segment) -> None:
    """Delete a segment and its memberships (no ``segment_left`` events)."""
    blocking = dependents_blocking_delete(segment)
    if blocking:
        names = ", ".join(_("“%(text)s”", text=other.name) for other in blocking)
        raise SegmentFormError({"segment": ngettext("%(names)s filters on this segment; change it first.",
                                                    "%(names)s filter on this segment; change them first.",
                                                    len(blocking), names=names)})
    segment.delete_instance()
