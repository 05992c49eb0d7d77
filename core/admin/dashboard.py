"""Dashboard: what the site holds and whether its background work runs."""
from __future__ import annotations

import datetime as dt

from flask import current_app, render_template

from ..auth import current_user
from ..models import Contact, Event, utcnow
from . import admin_blueprint
from .background import background_summary
from .checklist import checklist


@admin_blueprint.route("/")
def dashboard():
    since = utcnow() - dt.timedelta(days=1)
    state = current_app.extensions["couvee"]
    return render_template(
        "core/admin/dashboard.html",
        contacts=Contact.select().count(),
        new_contacts=Contact.select().where(Contact.created_at >= since).count(),
        events_today=Event.select().where(Event.created_at >= since).count(),
        active_plugins=state.host.active,
        plugin_errors=state.plugin_errors(),
        background=background_summary(state.redis),
        checklist=checklist(current_user()),
    )
