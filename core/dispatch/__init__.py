"""Event dispatch: the ``event`` table is the outbox, drain jobs empty it.

Emitters only *signal* that work is pending (:func:`signal.request_drain`);
at most one drain job is queued or running at a time, held by an atomic Redis
flag. A drain claims batches of undispatched events (:mod:`.outbox`), calls
each plugin's hooks separately (:mod:`.deliveries`), records the plugins that
failed and retries only those with backoff, and stops after a short time
slice, queueing its successor when work remains (:mod:`.drain`). The periodic
sweep (:func:`.drain.sweep`) signals a drain when undispatched work exists and
no live drain holds the flag, so it never floods the queue.

See docs/architecture.md, "Event dispatch".
"""
from .deliveries import BACKOFF, retry_now
from .drain import drain_events, dispatch_now, sweep
from .signal import request_drain

__all__ = ["BACKOFF", "dispatch_now", "drain_events", "request_drain", "retry_now", "sweep"]
