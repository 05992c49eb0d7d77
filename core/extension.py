"""Typed objects that plugins return from the ``register_*`` hooks.

Each class is a small, documented contract (in the spirit of CTFd's challenge
types): core collects the instances into registries keyed by ``id`` and never
looks inside a plugin for anything else. Subclass :class:`FieldType`; build the
others directly::

    Action(id="tag.add", label="Add a tag", run=add_tag,
           settings=[Setting("tag", "Tag", required=True)])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import click
from markupsafe import Markup


class FieldValueError(ValueError):
    """Raised by :meth:`FieldType.parse` with a message meant for the user."""


@dataclass
class Setting:
    """One declared setting; the admin form is generated from a list of these.

    ``kind`` is one of ``text``, ``password``, ``int``, ``bool``, ``choice``,
    ``textarea``. A ``secret`` value is never shown back in a form. When ``env``
    names an environment variable that is set, its value wins and the field is
    shown read-only.

    ``clean``, when given, turns the submitted text into the value to store
    or raises ``ValueError`` with a message for the user (the form is shown
    again with it and nothing is stored), e.g.
    ``Setting("limits", "Limits", clean=parse_limits_text)``. It is not called
    for an empty field; an ``int`` setting's gets the whole number, e.g.
    ``Setting("most", "Most", kind="int", clean=at_least_one)``.

    ``choices_from``, for a ``choice`` setting whose options live in the
    database, is called each time the form is drawn or checked and its
    ``(value, label)`` pairs follow ``choices``, e.g.
    ``Setting("user", "Who", kind="choice", choices_from=core.user_choices)``.
    Forms read :meth:`choice_list`.

    ``create_link``, ``(endpoint, label)``, puts a link next to a ``choice``
    setting's list to create a new option in another tab (the list is read
    again when the form is drawn next), e.g.
    ``Setting("template", "Email", kind="choice", choices_from=emails,
    create_link=("email_admin.new", "New newsletter"))``.

    ``tokens`` says the action fills the contact's tokens in this text when it
    runs (``{{ first_name }}``…, with :func:`core.fill_tokens`); the workflow
    step editor then offers to preview it as a chosen contact, e.g.
    ``Setting("message", "Message", kind="textarea", tokens=True)``.
    """

    key: str
    label: str
    kind: str = "text"
    default: Any = None
    help: str = ""
    required: bool = False
    secret: bool = False
    env: Optional[str] = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    clean: Optional[Callable[[str], Any]] = None
    choices_from: Optional[Callable[[], Any]] = None
    create_link: Optional[tuple[str, Any]] = None
    tokens: bool = False

    def choice_list(self) -> list[tuple[str, str]]:
        """The fixed ``choices``, then those ``choices_from`` gives now."""
        return list(self.choices) + (list(self.choices_from()) if self.choices_from else [])


class FieldType:
    """A kind of contact field (text, date, single select...).

    Subclasses set ``id``/``label``/``operators`` and override ``parse``.
    Values are stored as text (one row per value; multi-valued types return a
    list from ``parse``) so segments can filter on them with plain SQL.

    ``field`` arguments are :class:`core.models.CustomField` rows; ``options``
    are its configured choices (for select types).
    """

    id: str = ""
    label: str = ""
    multi_valued: bool = False
    #: segment operators this type supports (the segments plugin's filters read them)
    operators: tuple[str, ...] = ("equals", "not_equals", "empty", "not_empty")
    #: the value is a stored file (uploads are handled by core)
    is_file: bool = False

    def parse(self, text: str | list[str] | None, field=None):
        """Turn form or CSV text into a storable value (or list of values).

        Returns ``None`` for an empty value. Raises :class:`FieldValueError`
        with a message a user understands when the text is invalid.
        """
        raise NotImplementedError

    def display(self, value, field=None) -> str:
        """Human text for a stored value (a list for multi-valued types)."""
        if value is None:
            return ""
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    def render_widget(self, name: str, value, field=None) -> Markup:
        """HTML form control for this field; ``name`` is the input name."""
        from markupsafe import escape

        shown = "" if value is None else value
        return Markup('<input type="text" name="{}" value="{}">').format(name, escape(shown))

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<FieldType {self.id}>"


@dataclass
class TriggerType:
    """Something that starts a workflow: ``event_kinds`` it listens to, or a
    schedule (``kind='time'``) evaluated by whoever runs workflows."""

    id: str
    label: str
    kind: str = "action"  # action | behaviour | time
    description: str = ""
    event_kinds: tuple[str, ...] = ()
    settings: list[Setting] = field(default_factory=list)
    matches: Optional[Callable[..., bool]] = None
    #: ``population(settings)``: a query of the ids of the contacts this trigger
    #: is about, known in advance (a segment's members, the contacts with a tag),
    #: for the pre-send audience check; ``None`` (or returning ``None``) when the
    #: trigger is an event nobody can foresee (a form submitted, a page visited)::
    #:
    #:     population=lambda s: audience_contact_ids("segment", [int(s["segment_id"])]) \
    #:         if s.get("segment_id") else None
    population: Optional[Callable[[dict], Any]] = None


@dataclass
class Action:
    """A thing a workflow, point trigger or form can do to a contact.

    ``run(contact, settings, context)`` must be idempotent for a given
    ``context['key']``: it may be retried.

    Settings that must be filled are declared ``Setting(..., required=True)``.
    A rule the settings cannot express one by one goes in ``validate``: it
    returns the problems of a step's settings, in words for a marketer (empty
    when the action can run). The workflow editor lists them and activation
    is refused until they are fixed::

        def check_send(settings):
            if settings.get("template") or (settings.get("subject") and settings.get("body")):
                return []
            return ["write a subject and a body, or choose a newsletter as template"]

        Action("email.send", "Send an email", run=send, validate=check_send, settings=[...])
    """

    id: str
    label: str
    run: Callable[..., Any]
    description: str = ""
    settings: list[Setting] = field(default_factory=list)
    validate: Optional[Callable[[dict], list[str]]] = None
    #: for an action that sends marketing messages: ``audience(settings, contact_ids)``
    #: returns a :class:`core.AudienceCheck` (who of ``contact_ids``, a query of
    #: ids, would receive it now and who is skipped, by reason). The workflow page
    #: shows it for each such step before activation, and activation is refused
    #: when a step would reach nobody of a known population::
    #:
    #:     audience=lambda settings, ids: check_audience(ids, "email", settings.get("purpose") or "marketing")
    audience: Optional[Callable[[dict, Any], Any]] = None

    def problems(self, settings: dict | None) -> list[str]:
        """What ``validate`` finds wrong with these settings (required
        settings are checked with the form that edits them)."""
        if self.validate is None:
            return []
        return [str(problem) for problem in self.validate(dict(settings or {})) or []]


@dataclass
class SendChannel:
    """A way to reach a contact (email, SMS...). ``send(message)`` delivers one
    message and returns a provider id or raises, or returns a
    :class:`core.SendResult`; one with ``retry=True`` says the failure is
    temporary (the provider unreachable, a rate limit), so callers that can
    wait try again later with the same ``message.key``::

        except ProviderUnavailable as error:
            return SendResult("failed", f"provider unreachable: {error}", retry=True)

    ``test(message)`` (optional) sends one test message *now*, while the admin
    waits, on its own connection: not tracked, no event, not counted as a send
    to anyone. It returns a :class:`core.SendResult` whose ``detail`` is what
    the server answered ("250 OK queued as 4F2A1") or whose ``reason`` is the
    error ("550 5.1.1 no such mailbox"). Plugins call it through
    ``core.send_test_message``::

        result = send_test_message(Message(to="me@example.com", subject="[Test] Hi", html=html,
                                           kind="smart_content.pick", purpose="marketing"))
        flash(result.detail if result.sent else f"Not sent: {result.reason}")
    """

    id: str
    label: str
    send: Callable[..., Any]
    purposes: tuple[str, ...] = ("marketing", "transactional")
    test: Optional[Callable[..., Any]] = None


@dataclass
class AudienceGroup:
    """One group of contacts an :class:`AudienceSource` offers (a segment, a
    list...): its ``id`` within the source, ``name``, current ``size``, free
    ``tags`` (smart content reads them as interests), whether contacts can be
    added to it by hand or import (``open``: a static list) and its admin
    page (``url``, empty outside a request)."""

    id: int
    name: str
    size: int = 0
    tags: tuple[str, ...] = ()
    open: bool = False
    url: str = ""


@dataclass
class AudienceSource:
    """Where sends find their recipients: groups of contacts a newsletter, a
    smart-content programme or a workflow can target, filled by the plugin
    that owns them (the segments plugin registers ``"segment"``).

    - ``groups()`` -> list of :class:`AudienceGroup`, for pickers and names;
    - ``contact_ids(ids)`` -> a peewee query of the ids of the contacts in any
      of the groups ``ids`` (used as a subquery: ``Contact.id.in_(...)``);
    - ``memberships()``, optional -> a query of ``(contact id, group id)``
      rows of every group (smart content joins it with the groups' tags);
    - ``add_contacts(group_id, contact_ids, source)``, optional -> how many
      were added to an ``open`` group (raises ``ValueError`` with a message
      for the user when the group cannot take them);
    - ``define(name, definition, description, tags)``, optional -> the
      :class:`AudienceGroup` of that name kept up to date from a definition
      the source understands (created once, refreshed at each call).

    Example::

        AudienceSource("segment", _l("Segments"), groups=segment_groups,
                       contact_ids=lambda ids: SegmentMember.select(SegmentMember.contact)
                       .where(SegmentMember.segment.in_(ids)))

    Callers go through ``core.audience_contact_ids("segment", ids)`` and
    friends, which answer "nobody" when no active plugin provides the source.
    """

    id: str
    label: str
    groups: Callable[[], list]
    contact_ids: Callable[[list], Any]
    memberships: Optional[Callable[[], Any]] = None
    add_contacts: Optional[Callable[[int, list, str], int]] = None
    define: Optional[Callable[..., Any]] = None


@dataclass
class SegmentFilter:
    """A condition usable in dynamic segments.

    ``compile(params)`` returns a peewee expression over ``Contact`` (usually
    ``Contact.id.in_(subquery)``) so a whole segment compiles to one query.

    ``changed_by``: the event kinds whose events can change which contacts
    match, as a tuple of kind ids or a function of the condition's params
    returning one. After a contact's event, only the segments with a condition
    changed by that kind (and the segments filtering on them) are re-evaluated
    for it. ``None``, the default, means any event may: the segment is
    re-evaluated after every event of the contact (always right, slower).
    Changes to the contact's own fields need no kind: a created or updated
    contact is re-evaluated against every segment. Example: a filter on a
    ``webinar_attended`` event declares ``changed_by=("webinar_attended",)``;
    a filter on a custom field declares ``changed_by=()``.

    ``reads``: the contact columns the condition reads that events may
    change without a contact update; it is also re-evaluated after the kinds
    whose ``EventKind.changes`` name one of them, whoever registers them.
    Example: core's Owner filter declares ``changed_by=(), reads=("owner_id",)``
    and the owners plugin's assignment kind ``changes=("owner_id",)``.
    """

    id: str
    label: str
    compile: Callable[[dict], Any]
    params: list[Setting] = field(default_factory=list)
    changed_by: Any = None
    reads: tuple[str, ...] = ()

    def changed_by_kinds(self, params: dict) -> tuple[str, ...] | None:
        """The kinds that can change this condition's result (None: any)."""
        kinds = self.changed_by(params or {}) if callable(self.changed_by) else self.changed_by
        return None if kinds is None else tuple(kinds)

    def changed_by_event(self, kind: str, columns: frozenset[str], params: dict) -> bool:
        """Can an event of ``kind``, changing the contact ``columns``
        (its kind's ``changes``), change this condition's result?"""
        kinds = self.changed_by_kinds(params)
        return kinds is None or kind in kinds or bool(columns & set(self.reads))


@dataclass
class PeriodicJob:
    """A function enqueued by ``couvee cron`` every ``interval`` seconds or on a
    ``cron`` expression. ``func`` must be importable (module-level)."""

    id: str
    func: Callable[..., Any]
    interval: Optional[int] = None
    cron: Optional[str] = None
    queue: str = "default"
    timeout: int = 600

    def __post_init__(self):
        if (self.interval is None) == (self.cron is None):
            raise ValueError(f"periodic job {self.id!r}: give exactly one of interval or cron")


@dataclass
class AdminMenuItem:
    """An entry in the admin sidebar. ``endpoint`` is a Flask endpoint name."""

    id: str
    label: str
    endpoint: str
    order: int = 100
    roles: tuple[str, ...] = ("admin", "marketer", "sales")
    icon: str = ""


@dataclass
class SetupStep:
    """An item of the dashboard's getting-started checklist. ``endpoint`` (with
    ``endpoint_values``) is where the user does it; ``is_done()`` ticks it from
    the real state (it runs in the app context, with a database connection).
    Shown to the ``roles`` listed, by ``order``."""

    id: str
    label: str
    endpoint: str
    is_done: Callable[[], bool]
    help: str = ""
    endpoint_values: dict = field(default_factory=dict)
    order: int = 100
    roles: tuple[str, ...] = ("admin", "marketer")


@dataclass
class SettingsGroup:
    """A plugin's settings page: generated from ``settings``."""

    id: str
    label: str
    settings: list[Setting]


@dataclass
class Migration:
    """A versioned schema step for one plugin. ``up(db, migrator)`` runs in a
    transaction; versions of a plugin run in increasing order, once."""

    version: int
    name: str
    up: Callable[..., Any]

    @classmethod
    def create_tables(cls, version: int, name: str, models, then: Callable[..., Any] | None = None) -> "Migration":
        """The usual first migration: create ``models``' tables with their
        indexes (skipping tables that already exist), then run ``then(db,
        migrator)`` if given, e.g. to insert a plugin's default rows::

            Migration.create_tables(1, "forms and submissions", [Form, Submission])
        """
        models = list(models)

        def up(database, migrator):
            database.create_tables(models, safe=True)
            if then is not None:
                then(database, migrator)

        return cls(version, name, up)


@dataclass
class Gauge:
    """One number on the ``/metrics`` page (a Prometheus gauge), returned by
    ``metrics_gauges`` and read when the page is scraped::

        Gauge("couvee_tracking_hits_waiting", "Tracking hits not yet stored.", redis.xlen(STREAM))
    """

    name: str
    documentation: str
    value: float


@dataclass
class Command:
    """A ``couvee`` sub-command contributed by a plugin."""

    command: click.Command

    @property
    def id(self) -> str:
        return self.command.name
