"""Scoring: point actions, the ``points.change`` action, point triggers, an
explainable score (every change in a ledger), optional decay and score tiers.

See docs/scoring.md. Modules: :mod:`.ledger` (the one door for changes),
:mod:`.point_actions`, :mod:`.actions`, :mod:`.triggers`, :mod:`.decay`,
:mod:`.tiers`, :mod:`.views` (admin), :mod:`.privacy` (export / erasure).
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import AdminMenuItem, Migration, PeriodicJob, hookimpl, translation_domain

from . import models

@hookimpl
def register_models():
    return list(models.MODELS)


@hookimpl
def register_event_kinds():
    from .kinds import scoring_event_kinds

    return scoring_event_kinds()


@hookimpl
def register_migrations():
    return [Migration.create_tables(1, "points ledger, point actions and triggers", models.MODELS)]


@hookimpl
def register_blueprints():
    from .views import scoring_admin

    return [scoring_admin]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("scoring", translation_domain(__name__).lazy_gettext("Points"), "scoring.index", order=40)]


@hookimpl
def register_actions():
    from .actions import points_action

    return [points_action()]


@hookimpl
def register_segment_filters():
    from .tiers import tier_filter

    return [tier_filter()]


@hookimpl
def register_periodic_jobs():
    from .decay import run_decay
    from .triggers import sweep_firings

    return [PeriodicJob("scoring.decay", run_decay, cron="20 3 * * *", queue="low", timeout=3600),
            PeriodicJob("scoring.sweep_firings", sweep_firings, interval=600)]


@hookimpl
def contact_event(event):
    """Give the points of the point actions this event matches (once each;
    if this raises, core retries our delivery alone, with backoff)."""
    from .point_actions import evaluate_event

    evaluate_event(event)


@hookimpl
def contact_export(contact):
    from .privacy import export_rows

    return export_rows(contact)


@hookimpl
def contact_erase(contact, mode):
    from .privacy import erase

    erase(contact, mode)


@hookimpl
def tpl_slot(slot, context):
    if slot != "contact_main" or context.get("contact") is None:
        return None
    import secrets

    from .ledger import firings_of, history
    from .reasons import explain
    from .models import SOURCE_TYPES
    from .tiers import TIERS, current, tier_of

    contact = context["contact"]
    settings = current()
    return Markup(render_template(
        "scoring/contact_panel.html", contact=contact, changes=history(contact.id),
        tier=tier_of(contact.points, settings), tiers=TIERS, firings=firings_of(contact.id),
        sources=SOURCE_TYPES, explain=explain, nonce=secrets.token_hex(12),
    ))
