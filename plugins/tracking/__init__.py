"""Website tracking: the script (``static/tracker.js``, built per site by
:mod:`.script`) sends hits to ``/t/hit`` (:mod:`.public`, :mod:`.ingest`),
which appends them to a Redis stream; the drain job (:mod:`.drain`) writes
them in batches and turns identified visitors' hits into contact events
(:mod:`.timeline`). Identification (forms through the
``tracking_visitor_identified`` hook, email links, ``identify``) lives in
:mod:`.identify`; assets in :mod:`.assets`; admin pages in :mod:`.views` and
:mod:`.reports`. See docs/tracking.md.

It was core's internal plugin ``core_tracking`` until issue 18; its manifest
says ``formerly = "core_tracking"`` so existing installs keep their tables.
Deactivated, its pages, menu entry and public endpoints disappear; its
tables are kept.
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import AdminMenuItem, Gauge, Migration, PeriodicJob, Setting, SettingsGroup, SetupStep, hookimpl, state
from core import translation_domain

from .identify import link_visitor
from .models import TRACKING_MODELS, Hit, Site, Visitor

_l = translation_domain(__name__).lazy_gettext


@hookimpl
def register_models():
    return list(TRACKING_MODELS)


@hookimpl
def register_migrations():
    return [Migration.create_tables(1, "tracked sites, visitors, hits and assets", TRACKING_MODELS)]


@hookimpl
def register_event_kinds():
    from .kinds import tracking_event_kinds

    return tracking_event_kinds()


@hookimpl
def register_blueprints():
    from .public import tracking_public
    from .views import tracking_admin

    return [tracking_public, tracking_admin]


@hookimpl
def register_fast_endpoints():
    from .hit_endpoint import endpoint

    return [endpoint()]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("tracking", _l("Visits"), "tracking.visits", order=30)]


@hookimpl
def register_settings():
    return [SettingsGroup("tracking", _l("Website tracking"), [
        Setting("anonymous_retention_days", _l("Keep anonymous visits (days)"), kind="int", default=180,
                help=_l("Visits of visitors never identified are deleted after this many days (0 keeps them).")),
    ])]


@hookimpl
def register_periodic_jobs():
    from .drain import drain, purge_anonymous

    return [
        PeriodicJob("tracking.drain", drain, interval=30),
        PeriodicJob("tracking.purge_anonymous", purge_anonymous, interval=86400, queue="low"),
    ]


@hookimpl
def tpl_slot(slot, context):
    contact = context.get("contact")
    if slot != "contact_main" or contact is None:
        return None
    from .reports import contact_visits

    visits, total = contact_visits(contact)
    return Markup(render_template("tracking/contact_panel.html", contact=contact, visits=visits, total=total))


@hookimpl
def contact_export(contact):
    rows = (Hit.select().where(Hit.contact == contact.id).order_by(Hit.created_at))
    return {"website visits": [
        {"at": hit.created_at.isoformat(), "kind": hit.kind, "url": hit.url, "title": hit.title,
         "referrer": hit.referrer, "name": hit.name, "visitor_id": hit.visitor} for hit in rows
    ]}


@hookimpl
def contact_erase(contact, mode):
    """Visits are personal data: deleted in both modes, with the visitor ids."""
    Hit.delete().where(Hit.contact == contact.id).execute()
    Visitor.delete().where(Visitor.contact == contact.id).execute()


def _has_site() -> bool:
    return Site.select().exists()


@hookimpl
def register_setup_steps():
    return [SetupStep("tracking.site", _l("Track visits on your website"), "tracking.sites_index", _has_site,
                      help=_l("Add your site and paste its snippet to see who visits which pages."), order=40)]


@hookimpl
def tracking_visitor_identified(contact, visitor_id, method):
    """Another plugin (a form post carrying the tracker's visitor id) knows
    who this browser is: its past and later visits go to the contact."""
    return link_visitor(visitor_id, contact, method=method)


@hookimpl
def metrics_gauges():
    from .ingest import STREAM

    return [Gauge("couvee_tracking_hits_waiting",
                  "Tracking hits accepted and not yet stored (length of the Redis stream).",
                  state().redis.xlen(STREAM))]
