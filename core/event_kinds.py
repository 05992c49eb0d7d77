"""Event kinds: the vocabulary of ``emit``, each kind declared once by the
plugin that owns it (``register_event_kinds``).

Core derives from this registry everything that used to list kinds by name:
which events count as the contact interacting (``last_interaction_at``, "any
interaction" waits), the workflow triggers, the "did X in the last N days"
segment filters and their wording, the wait-for-event options, and which
events mark an address as not to be imported again. ``emit`` refuses a kind
nobody registered, so a typo or a made-up kind fails loudly instead of
recording events nothing reacts to.

A kind of a *disabled* plugin is not registered, so emitting it is refused
too (its plugin is off: nothing would react, and nothing should claim it
happened). A plugin that emits a kind another plugin owns checks
:func:`event_kind_registered` first (and keeps working without it) or
declares that it needs that plugin.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from flask import current_app

from .extension import Setting
from .i18n import core_domain

_ = core_domain().gettext

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class UnknownEventKind(ValueError):
    """``emit`` was given a kind no active plugin registered."""


@dataclass(frozen=True)
class EventKind:
    """One kind of contact event, e.g. ``tag_added``.

    ``label`` names the kind in the admin ("Form submitted"); ``verb`` and
    ``past`` are the phrases the wording needs ("submit a form" / "submitted
    a form": a wait step says "waits for the contact to submit a form", a
    segment "submitted a form in the last 30 days", its negation "did not
    submit a form"). ``properties`` maps each key of the event's data to a
    short description.

    - ``interaction``: the contact did something (moves their last activity
      date, resumes "any interaction" waits); ``False`` for what happens to
      them (a tag added, an email sent).
    - ``can_trigger``: offered as a workflow trigger, a wait-for-event and a
      workflow "did it happen" condition. ``trigger_settings`` are its
      optional filters (a :class:`core.Setting` per data key, empty matching
      anything, ``*`` wildcards allowed); ``matches(event, settings)``
      replaces the default comparison when it needs more;
      ``trigger_population(settings)`` the contacts the trigger is about when
      they are known in advance (the members of the chosen segment).
    - ``segment_condition``: offered as a "did X in the last N days" segment
      filter (with a URL pattern when the kind carries a ``url`` property).
    - ``opposition``: the contact asked not to be contacted or cannot be
      (unsubscribed, bounced): imports skip such addresses when asked.
    - ``changes``: the contact columns an event of this kind comes with a
      change of, e.g. ``changes=("owner_id",)`` for a kind that assigns owners: the
      segment filters that read one of them (``SegmentFilter.reads``) are
      re-evaluated after such an event, without naming the kind.

    ``negative_past`` is the negative phrase ("did not submit a form"),
    worded whole because languages do not build it from ``verb`` alike; when
    empty, an English-only fallback is derived from ``verb``.
    ``details(data)`` is what the contact's history shows of an event: a list
    of ``(label, text)`` pairs in the current language, e.g.
    ``[("Form", "Newsletter sign-up")]``; without it, each key of the data is
    shown with its value (see :func:`core.event_details.event_details`).

    ``owner`` is filled by core with the registering plugin's name.
    """

    id: str
    label: str
    verb: str
    past: str
    interaction: bool = False
    properties: dict[str, str] = field(default_factory=dict)
    can_trigger: bool = False
    segment_condition: bool = False
    opposition: bool = False
    trigger_settings: list[Setting] = field(default_factory=list)
    matches: Optional[Callable[[Any, dict], bool]] = None
    description: str = ""
    owner: str = ""
    #: the trigger's known population (see :attr:`core.TriggerType.population`)
    trigger_population: Optional[Callable[[dict], Any]] = None
    negative_past: str = ""
    details: Optional[Callable[[dict], list]] = None
    #: contact columns events of this kind change (see ``SegmentFilter.reads``)
    changes: tuple[str, ...] = ()

    def __post_init__(self):
        if not ID_PATTERN.match(self.id or ""):
            raise ValueError(f"event kind {self.id!r}: ids are 2-64 lowercase letters, digits or _")
        for name in ("label", "verb", "past"):
            if not str(getattr(self, name) or "").strip():
                raise ValueError(f"event kind {self.id!r} needs a {name}")

    @property
    def negative(self) -> str:
        """``did not submit a form``."""
        if str(self.negative_past or "").strip():
            return self.negative_past
        return _("did not %(verb)s", verb=self.verb)

    def event_matches(self, event, settings: dict) -> bool:
        """Does ``event`` satisfy a trigger's ``settings`` for this kind?"""
        if self.matches is not None:
            return bool(self.matches(event, settings or {}))
        return data_matches(event.data or {}, settings or {}, [s.key for s in self.trigger_settings])


def _text(value) -> str:
    return str(value if value is not None else "").strip().lower()


def data_matches(data: dict, settings: dict, keys: Iterable[str]) -> bool:
    """Each non-empty setting among ``keys`` equals the event's value for the
    same key (case-insensitive; ``*``/``?`` are wildcards)."""
    for key in keys:
        expected = _text(settings.get(key))
        if not expected:
            continue
        actual = data.get(key)
        values = [_text(v) for v in actual] if isinstance(actual, list) else [_text(actual)]
        if not any(fnmatch.fnmatchcase(value, expected) for value in values):
            return False
    return True


def event_kinds():
    """The registry of event kinds of the current application."""
    return current_app.extensions["couvee"].registries.event_kinds


def event_kind_registered(kind: str) -> bool:
    """Is ``kind`` registered by an active plugin (or core)?"""
    return kind in event_kinds()


def columns_changed_by(kind: str) -> frozenset[str]:
    """The contact columns events of ``kind`` change (``EventKind.changes``);
    none for a kind that is not registered."""
    found = event_kinds().get(kind)
    return frozenset(found.changes) if found is not None else frozenset()


def registered_kind(kind: str) -> EventKind:
    """The registered :class:`EventKind` ``kind``, or :class:`UnknownEventKind`."""
    registry = event_kinds()
    found = registry.get(kind)
    if found is None:
        raise UnknownEventKind(
            f"{kind!r} is not a registered event kind (is its plugin active?); "
            f"registered kinds: {', '.join(sorted(registry.ids()))}"
        )
    return found


def event_label(kind: str) -> str:
    """What the admin shows for ``kind``: its registered label, or the raw
    kind for events of a plugin that is no longer active."""
    found = event_kinds().get(kind)
    return found.label if found else kind.replace("_", " ")


def counts_as_interaction(kind: str) -> bool:
    found = event_kinds().get(kind)
    return bool(found and found.interaction)


def interaction_kinds() -> list[str]:
    return sorted(kind.id for kind in event_kinds() if kind.interaction)


def trigger_kinds() -> list[EventKind]:
    return [kind for kind in event_kinds() if kind.can_trigger]


def opposition_kinds() -> list[EventKind]:
    return [kind for kind in event_kinds() if kind.opposition]
