"""Every hook core calls, in one file (a plugin's own hooks are declared in its
``hookspecs`` module: see docs/plugins.md, "Declaring your own hooks").

Hooks are always called with keyword arguments, so an implementation may
accept a subset of the arguments and keep working when a hook gains one.
A plugin implements a hook with the marker re-exported by ``core``::

    from core import hookimpl

    @hookimpl
    def register_admin_menu():
        return [AdminMenuItem("forms", "Forms", "forms.index")]

The reference in ``docs/hooks.md`` has a section per hook; a test fails when a
hook below is missing there or has no ``test_hook_<name>`` test.
"""
from dataclasses import dataclass

import pluggy

PROJECT = "couvee"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------
# Policies: what the plugin host does when an implementation raises. Each
# hook declares its own with ``@policy(...)`` under ``@hookspec`` (none
# declared: ISOLATED); docs/hooks.md shows it in the hook's section.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class HookPolicy:
    name: str
    #: what happens when an implementation raises, as the reference says it
    on_error: str


ISOLATED = HookPolicy("isolated", "an implementation that raises is reported against its plugin "
                                  "and skipped; the other plugins still run.")
STRICT = HookPolicy("strict", "an implementation that raises is reported and the error reaches the "
                              "caller, which stops: nothing is left half-done.")
FAIL_CLOSED = HookPolicy("fail closed", "an implementation that raises is reported and counts as "
                                        "answering False (a veto); the other plugins still run.")


def policy(hook_policy: HookPolicy):
    """Declare a hook's policy beside its spec (the default is ISOLATED)::

        @hookspec
        @policy(STRICT)
        def contact_erase(contact, mode): ...
    """
    def declare(spec):
        spec.couvee_policy = hook_policy
        return spec
    return declare


def policy_of(spec) -> HookPolicy:
    return getattr(spec, "couvee_policy", ISOLATED)


# --------------------------------------------------------------------------
# register_* : called once when an app (web or worker) is built. Each returns
# a list of typed objects; core merges them into registries that refuse a
# duplicate id.
# --------------------------------------------------------------------------


@hookspec
def register_models():
    """Peewee model classes owned by the plugin.

    Returns a list of model classes. Core drops their tables when the plugin is
    uninstalled; create them in a migration (see ``register_migrations``).

    Example::

        @hookimpl
        def register_models():
            return [FormSubmission]
    """


@hookspec
def register_migrations():
    """Versioned schema steps for the plugin.

    Returns a list of :class:`core.Migration`. Each version runs once, in order,
    in a transaction, on ``couvee migrate`` and when the plugin is activated.
    ``Migration.create_tables(version, name, models, then=None)`` makes the
    usual first one (the tables and their indexes, then optional default rows).

    Example::

        @hookimpl
        def register_migrations():
            return [Migration.create_tables(1, "create submissions", [FormSubmission]),
                    Migration(2, "submissions remember the page", add_page_column)]
    """


@hookspec
def register_blueprints():
    """Flask blueprints to mount.

    Returns a list of blueprints. Routes require a logged-in user unless the
    view is decorated with :func:`core.public` (public endpoints must then do
    their own checks). A disabled plugin's routes answer 404.

    Example::

        @hookimpl
        def register_blueprints():
            return [forms_admin]   # Blueprint("forms", __name__, url_prefix="/admin/forms")
    """


@hookspec
def register_fast_endpoints():
    """Hot public paths answered before Flask (:mod:`core.fast_endpoints`).

    Returns a list of :class:`core.FastEndpoint`. The handler gets the WSGI
    ``environ`` in the app context and returns a :class:`core.FastResponse`:
    no session, no user, no CSRF token and no database connection, so the
    endpoint is public by design and must check what it receives itself. A
    method not listed gets 405; an exception is logged and answered 503,
    never 500. Only for paths hit at web-page rates (the tracking hit); every
    other view is a blueprint route.

    Example::

        def pixel(environ):
            body = read_body(environ, 1024)       # core.read_body: None if too long
            if body is None:
                return FastResponse(413, body=b"too large\n")
            return FastResponse(204)

        @hookimpl
        def register_fast_endpoints():
            return [FastEndpoint("/p/ping", "pings.ping", ("POST",), pixel)]
    """


@hookspec
def register_field_types():
    """Contact field types.

    Returns a list of :class:`core.FieldType` instances.

    Example::

        @hookimpl
        def register_field_types():
            return [PhoneFieldType()]
    """


@hookspec
def register_event_kinds():
    """The kinds of contact event the plugin emits, each declared once, by its owner.

    Returns a list of :class:`core.EventKind`. ``core.emit`` refuses a kind no
    active plugin registered (``UnknownEventKind``), and a second plugin
    registering the same id is refused with an error naming both plugins.
    Core derives from the flags what used to be lists of names: ``interaction``
    (moves the contact's last activity, resumes "any interaction" waits),
    ``can_trigger`` (a workflow trigger, wait and condition, filtered by
    ``trigger_settings``), ``segment_condition`` (a "did X in the last N days"
    segment filter, worded with ``verb``/``past``) and ``opposition`` (imports
    skip the address). A disabled plugin's kinds disappear from all of these,
    and emitting them is refused. ``owner`` is filled in by core.

    Example::

        @hookimpl
        def register_event_kinds():
            return [EventKind("webinar_attended", "Webinar attended", verb="attend a webinar",
                              past="attended a webinar", interaction=True,
                              can_trigger=True, segment_condition=True,
                              properties={"webinar_id": "the webinar's id", "minutes": "time spent"},
                              trigger_settings=[Setting("webinar_id", "Webinar id (empty: any)")])]

        # elsewhere in the plugin, once registered:
        emit(contact, "webinar_attended", {"webinar_id": 12, "minutes": 45})
    """


@hookspec
def register_trigger_types(event_kinds):
    """Workflow trigger types.

    Returns a list of :class:`core.TriggerType`. ``event_kinds`` is the
    registry of event kinds, already filled, for triggers derived from them
    (core offers one trigger per kind registered with ``can_trigger``).

    Example::

        @hookimpl
        def register_trigger_types():
            return [TriggerType("webinar_series", "All webinars of a series attended",
                                event_kinds=("webinar_attended",), matches=completes_series)]
    """


@hookspec
def register_actions():
    """Actions that workflows, point triggers and forms can run on a contact.

    Returns a list of :class:`core.Action`. ``run(contact, settings, context)``
    must be idempotent for ``context["key"]``.

    Example::

        @hookimpl
        def register_actions():
            return [Action("points.change", "Change points", run=change_points,
                           settings=[Setting("delta", "Points", kind="int")])]
    """


@hookspec
def register_channels():
    """Send channels (email, SMS...).

    Returns a list of :class:`core.SendChannel`.

    Example::

        @hookimpl
        def register_channels():
            return [SendChannel("email", "Email", send=send_email)]
    """


@hookspec
def register_segment_filters(event_kinds):
    """Conditions for dynamic segments.

    Returns a list of :class:`core.SegmentFilter` whose ``compile(params)``
    returns a peewee expression over ``Contact``. ``event_kinds`` is the
    registry of event kinds, already filled (core derives its "did X in the
    last N days" filters from the kinds registered with ``segment_condition``).
    ``changed_by`` names the event kinds that can change a condition's result
    (after a contact's event only those segments are re-evaluated for it);
    leave it out and the segment is re-evaluated after every event. A filter
    on a contact column that other plugins' events change declares
    ``changed_by=(), reads=("owner_id",)``: it follows the kinds registered
    with ``changes=("owner_id",)`` without naming them.

    Example::

        @hookimpl
        def register_segment_filters():
            return [SegmentFilter("webinar", "Attended a webinar",
                                  compile=lambda p: Contact.id.in_(attended(p)),
                                  changed_by=("webinar_attended",))]
    """


@hookspec
def register_audience_sources():
    """Groups of contacts that sends can target (newsletters, smart content,
    workflows), so those features never depend on who keeps the groups.

    Returns a list of :class:`core.AudienceSource`. The segments plugin
    registers ``"segment"``; with no active source, the newsletter editor
    says so and sends reach nobody. Read through ``core.audience_groups`` and
    ``core.audience_contact_ids``.

    Example::

        @hookimpl
        def register_audience_sources():
            return [AudienceSource("segment", "Segments", groups=segment_groups,
                                   contact_ids=members_of_any)]
    """


@hookspec
def register_periodic_jobs():
    """Jobs that ``couvee cron`` enqueues on a schedule.

    Returns a list of :class:`core.PeriodicJob`; ``func`` must be a module-level
    function. A disabled plugin's periodic jobs are skipped by the worker.

    Example::

        @hookimpl
        def register_periodic_jobs():
            return [PeriodicJob("feeds.fetch", fetch_all_feeds, interval=900)]
    """


@hookspec
def register_admin_menu():
    """Entries for the admin sidebar.

    Returns a list of :class:`core.AdminMenuItem`.

    Example::

        @hookimpl
        def register_admin_menu():
            return [AdminMenuItem("scoring", "Points", "scoring.index", order=40)]
    """


@hookspec
def register_settings():
    """Declared settings; the admin generates the form and stores the values.

    Returns a list of :class:`core.SettingsGroup`. Read values with
    ``core.get_setting(group_id, key)``.

    Example::

        @hookimpl
        def register_settings():
            return [SettingsGroup("email", "Email", [
                Setting("smtp_host", "SMTP host", default="localhost"),
                Setting("smtp_password", "Password", kind="password",
                        secret=True, env="COUVEE_SMTP_PASSWORD")])]
    """


@hookspec
def register_commands():
    """Sub-commands for the ``couvee`` command line.

    Returns a list of :class:`core.Command` wrapping click commands; they run
    inside an application context.

    Example::

        @click.command("fetch-feeds")
        def fetch_feeds(): ...

        @hookimpl
        def register_commands():
            return [Command(fetch_feeds)]
    """


@hookspec
def register_setup_steps():
    """Items of the dashboard's getting-started checklist that belong to the plugin.

    Returns a list of :class:`core.SetupStep`. Each links to the page where the
    user does it and ticks itself when ``is_done()`` returns True (called when
    the dashboard is shown, with a database connection: keep it one cheap
    query). The checklist hides once every step shown to the user is done.

    Example::

        @hookimpl
        def register_setup_steps():
            return [SetupStep("forms.first", "Publish your first form", "forms_admin.index",
                              is_done=lambda: Form.select().where(Form.status == "published").exists(),
                              help="Collect sign-ups on your site.", order=50)]
    """


# --------------------------------------------------------------------------
# contact_* : things that happened to a contact. Called in a worker, after the
# change is committed, with the app context pushed.
# --------------------------------------------------------------------------


@hookspec
def contact_created(contact):
    """A contact was created (any source: admin, API, import, form).

    Return value ignored.

    The owners plugin gives a new contact without owner one here (its
    assignment rules, then round robin).

    Example::

        @hookimpl
        def contact_created(contact):
            if contact.owner_id is None:
                assign_owner(contact)  # the owners plugin's own function
    """


@hookspec
def contact_updated(contact, changes):
    """Fields of a contact changed.

    ``changes`` maps a field key to ``(old, new)``. Return value ignored.

    Example::

        @hookimpl
        def contact_updated(contact, changes):
            if "email" in changes:
                resync(contact)
    """


@hookspec
def contact_deleted(contact):
    """A contact was deleted. ``contact`` is a dict snapshot (the row is gone).

    Return value ignored.

    Example::

        @hookimpl
        def contact_deleted(contact):
            crm_delete(contact["email"])
    """


@hookspec
def contact_event(event):
    """Something happened to a contact (page visited, form submitted, tag added,
    points changed...). ``event`` is a :class:`core.models.Event` with
    ``contact``, ``kind``, ``data`` and ``created_at``.

    Called once per event by a worker; a retried job may call it again, so key
    any side effect on ``event.id``. Return value ignored. Events come in
    batches of up to 100: read your definitions (rules, actions...) once per
    batch with :func:`core.batch_memo`, not once per event.

    Example::

        @hookimpl
        def contact_event(event):
            if event.kind == "webinar_attended":
                add_points_once(event.contact, "webinar", key=event.id)
            rules = batch_memo("myplugin.rules", lambda: list(Rule.select()))
    """


@hookspec
@policy(FAIL_CLOSED)
def contact_can_receive(contact, channel, purpose):
    """May ``contact`` be contacted on ``channel`` for ``purpose``?

    Return ``False`` to veto, anything else to abstain. Any veto wins; a hook
    that raises counts as a veto (fail closed).

    Example::

        @hookimpl
        def contact_can_receive(contact, channel, purpose):
            if purpose == "marketing" and not has_consent(contact, channel):
                return False
    """


@hookspec
def contact_receive_refusals(contact_ids, channel, purpose):
    """Which of these contacts may not be contacted on ``channel`` for
    ``purpose``, and why? The set-based twin of ``contact_can_receive``: core
    asks it for a whole audience before a send (the pre-send audience check,
    "N will receive it, M skipped: no consent (k), unsubscribed (u)...") and
    for one contact when a send was vetoed, to record the reason.

    ``contact_ids`` is a list of up to a few hundred ids (the audience comes in
    chunks): answer with a few set-based queries, never one per contact.
    Return ``{contact_id: reason}`` for the refused ones, the reason a few
    words an admin understands (``"unsubscribed"``, ``"no consent"``,
    ``"bounced"``), or ``None``. It must agree with your ``contact_can_receive``;
    a plugin that vetoes sends without implementing it is reported by the
    audience check as "not checked in advance".

    Example::

        @hookimpl
        def contact_receive_refusals(contact_ids, channel, purpose):
            if channel != "email" or purpose == "transactional":
                return None
            blocked = Blocklist.select(Blocklist.contact).where(Blocklist.contact.in_(contact_ids))
            return {row.contact_id: "on the blocklist" for row in blocked}
    """


@hookspec
def contact_suppressed(emails):
    """Which of these (normalised) addresses must not be created as contacts?

    Called before a contact is created, by the admin, the REST API, forms and
    CSV imports (once per batch, so keep it set-based). Return a dict
    ``{email: reason shown to the user}`` for the refused ones, or ``None``.
    The GDPR plugin answers from its suppression list of erased people.

    Example::

        @hookimpl
        def contact_suppressed(emails):
            hashes = {email_hash(e): e for e in emails}
            found = Suppression.select().where(Suppression.hash.in_(list(hashes)))
            return {hashes[row.hash]: "This person asked to be forgotten." for row in found}
    """


@hookspec
@policy(STRICT)
def contact_erase(contact, mode):
    """A contact is being erased (right to be forgotten): delete or scrub
    *your plugin's* personal data about them now, in this transaction.

    ``mode`` is ``"delete"`` (remove every personal row) or ``"pseudonymise"``
    (keep statistics, drop what identifies the person). Called by
    ``core.erase_contact``, so on every contact delete from the admin or the
    REST API too, whether or not the GDPR plugin is active. Called synchronously
    before the contact row itself goes, so ``contact`` is still a full
    :class:`core.models.Contact`; a plugin forwarding the erasure to a remote
    system should copy what it needs (e.g. the email) into a queued job. A hook
    that raises aborts the erasure. Return value ignored.

    Example::

        @hookimpl
        def contact_erase(contact, mode):
            Submission.delete().where(Submission.contact == contact.id).execute()
            enqueue(forward_erasure_to_crm, contact.email)
    """


@hookspec
def contact_export(contact):
    """Everything your plugin holds about ``contact``, for a data-access or
    portability export.

    Return a dict ``{section title: list of flat dicts}`` (each dict one row,
    JSON-serialisable values), or ``None``. Sections from all plugins are
    merged into one JSON document and one CSV per section.

    Example::

        @hookimpl
        def contact_export(contact):
            rows = PointChange.select().where(PointChange.contact == contact.id)
            return {"Points history": [{"at": r.created_at.isoformat(), "delta": r.delta,
                                        "reason": r.reason} for r in rows]}
    """


@hookspec
def contact_change_sources():
    """Words for the ``source`` the plugin records on contact changes.

    Return a dict ``{source: label}``. ``create_contact(..., source=...)``,
    ``update_contact`` and tag changes record where a change came from; the
    contact's history shows the label in the reader's language instead of the
    raw word. Core words its own sources (``admin``, ``api``, ``merge``); a
    source nobody words is shown as recorded.

    Example::

        @hookimpl
        def contact_change_sources():
            return {"webinar": _l("webinar registration")}

        # elsewhere in the plugin:
        update_contact(contact, {"company": "Acme"}, source="webinar")
    """


# --------------------------------------------------------------------------
# metrics_* : what an operator watches at ``/metrics``.
# --------------------------------------------------------------------------


@hookspec
def metrics_gauges():
    """Numbers for the Prometheus ``/metrics`` page, read at each scrape.

    Return a list of :class:`core.Gauge` (``name``, ``documentation``,
    ``value``); names start with ``couvee_`` and say what they count. Keep it
    cheap (a Redis length, an indexed count): it runs on every scrape. A name
    core or an earlier plugin already wrote is skipped.

    Example::

        @hookimpl
        def metrics_gauges():
            return [Gauge("couvee_tracking_hits_waiting", "Tracking hits not yet stored.",
                          state().redis.xlen(STREAM))]
    """


# --------------------------------------------------------------------------
# tpl_* : named slots in templates.
# --------------------------------------------------------------------------


@hookspec
@policy(STRICT)
def trigger_type_renamed(old_type, new_type, convert):
    """A plugin's migration renamed a trigger type (it called
    :func:`core.rename_trigger_type`): rewrite the triggers *your plugin*
    saved with type ``old_type`` as ``new_type``, in the migration's
    transaction. ``convert(settings)`` gives the new trigger's settings, or
    ``None`` for a trigger that must stay as it is. Return how many of your
    saved things changed. A workflows plugin rewrites its saved workflows.

    Example::

        @hookimpl
        def trigger_type_renamed(old_type, new_type, convert):
            changed = 0
            for rule in Rule.select().where(Rule.trigger == old_type):
                settings = convert(dict(rule.settings))
                if settings is not None:
                    rule.trigger, rule.settings = new_type, settings
                    rule.save()
                    changed += 1
            return changed
    """


@hookspec
def tpl_slot(slot, context):
    """HTML to insert in a named template slot, e.g. ``contact_sidebar``.

    ``context`` is a dict of what the template has (``contact``...). Return
    :class:`markupsafe.Markup` or ``None``. Templates call
    ``{{ slot("contact_sidebar", contact=contact) }}``.

    Example::

        @hookimpl
        def tpl_slot(slot, context):
            if slot == "contact_sidebar":
                return Markup(render_template("scoring/panel.html", **context))
    """
