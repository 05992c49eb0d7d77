"""Jobs that real worker processes run in the event-dispatch process tests
(kept apart from the test modules so a worker imports little)."""
from __future__ import annotations

import json
import time

STARTED = "probe:dispatch:started"


def note_start(label: str, queued_at: float) -> None:
    """Record when this job began and how many events still waited then."""
    from flask import current_app

    from core.models import Event

    waiting = Event.select().where(Event.dispatched_at.is_null()).count()
    current_app.extensions["couvee"].redis.hset(
        STARTED, label, json.dumps({"waiting": waiting, "delay": time.time() - queued_at}))
