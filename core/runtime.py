"""Keep a process's application in step with the plugin state in the database.

The set of enabled plugins is stored in the database with a revision number
(``core.plugins.lifecycle`` bumps it on every change). A :class:`Runtime` holds
the current app of a process (web server, worker, cron) and rebuilds it through
``create_app`` when the revision moves, so activating, deactivating or
uploading a plugin takes effect everywhere without a restart.

:class:`WSGIApp` is the WSGI entry point used by ``couvee serve`` and by
production servers (``core.wsgi:application``).
"""
from __future__ import annotations

import logging
import threading
import time

from .config import Config

log = logging.getLogger("couvee.runtime")


class Runtime:
    def __init__(self, config: Config | dict | None = None, app=None):
        from .app import create_app

        self._create_app = create_app
        self._lock = threading.Lock()
        self.app = app or create_app(config)
        self.config: Config = self.app.extensions["couvee"].config
        self._checked_at = time.monotonic()

    @property
    def state(self):
        return self.app.extensions["couvee"]

    def refresh(self, force_check: bool = False) -> bool:
        """Rebuild the app if the plugin revision changed. Web processes check at
        most every ``plugin_state_ttl`` seconds unless this process itself made
        the change (then at once); workers check before every job."""
        state = self.state
        now = time.monotonic()
        if not (force_check or state.stale or now - self._checked_at >= self.config.plugin_state_ttl):
            return False
        with self._lock:
            self._checked_at = now
            current = state.read_plugin_revision()
            if current == state.plugin_revision and not state.stale:
                return False
            log.info("plugin state changed (revision %s -> %s): rebuilding the app", state.plugin_revision, current)
            new_app = self._create_app(
                self.config, redis_handle=state.redis_handle, migrate=False, database=state.database
            )
            self.app = new_app
            return True


class WSGIApp:
    """A WSGI callable that always serves the up-to-date app."""

    def __init__(self, config: Config | dict | None = None, app=None):
        self.runtime = Runtime(config, app=app)

    @property
    def app(self):
        return self.runtime.app

    def __call__(self, environ, start_response):
        self.runtime.refresh()
        return self.runtime.app(environ, start_response)
