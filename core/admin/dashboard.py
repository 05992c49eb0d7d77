"""Dashboard: what the site holds and whether its background work runs."""
from __future__ import annotations

import datetime as dt

from flask import current_app, render_template
from rq import Worker

from ..models import Contact, Event, utcnow
from ..queue import QUEUES, get_queue
from . import admin_blueprint


def queue_status():
    state = current_app.extensions["couvee"]
    queues = [{"name": name, "pending": len(get_queue(name)), "failed": get_queue(name).failed_job_registry.count}
              for name in QUEUES]
    workers = Worker.all(connection=state.redis)
    return queues, workers


@admin_blueprint.route("/")
def dashboard():
    since = utcnow() - dt.timedelta(days=1)
    queues, workers = queue_status()
    state = current_app.extensions["couvee"]
    return render_template(
        "core/admin/dashboard.html",
        contacts=Contact.select().count(),
        new_contacts=Contact.select().where(Contact.created_at >= since).count(),
        events_today=Event.select().where(Event.created_at >= since).count(),
        active_plugins=state.host.active,
        plugin_errors=state.plugin_errors(),
        queues=queues,
        workers=workers,
    )
