"""Dashboard: what the site holds and whether its background work runs."""
from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, url_for

from ..auth import current_user, roles_required
from ..dispatch import deliveries
from ..i18n import core_domain
from ..models import Contact, Event, utcnow
from . import admin_blueprint
from .background import background_summary
from .checklist import checklist

_ = core_domain().gettext


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
        failed_deliveries=list(deliveries.failed_deliveries(limit=20)),
        failed_delivery_count=deliveries.failed_count(),
    )


@admin_blueprint.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
@roles_required("admin", "marketer")
def delivery_retry(delivery_id):
    """The dashboard's "Retry now" on a plugin's failed reaction to an event."""
    if not deliveries.retry_now(delivery_id):
        abort(404)
    flash(_("The delivery will be retried in a moment."))
    return redirect(url_for("admin.dashboard"))
