"""Everything one application owns, kept in ``app.extensions["couvee"]``.

Nothing here is a module global: two apps built in one process (tests, or a
rebuild after a plugin change) each have their own state.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import current_app

from . import db as dbmod
from .config import Config
from .models import SettingValue, utcnow
from .plugins.host import PluginHost
from .redis_conn import RedisHandle

PLUGIN_ERRORS_KEY = "couvee:plugin_errors"


class CouveeState:
    def __init__(self, config: Config, database, redis_handle: RedisHandle):
        self.config = config
        self.database = database
        self.redis_handle = redis_handle
        self.redis = redis_handle.client
        self.host: PluginHost | None = None
        #: plugins found on disk (name -> PluginInfo), loaded or not
        self.discovered: dict = {}
        self.plugin_revision = 0
        #: set when this process changed the plugin state: rebuild at once
        self.stale = False

    # -- hooks and registries ----------------------------------------------

    @property
    def registries(self):
        return self.host.registries

    @property
    def hooks(self) -> PluginHost:
        return self.host

    # -- database ----------------------------------------------------------

    def database_connection(self):
        return dbmod.connection(self.database)

    def read_plugin_revision(self) -> int:
        with self.database_connection():
            row = SettingValue.get_or_none(
                (SettingValue.group == "core") & (SettingValue.key == "plugins_revision")
            )
        return int(row.value) if row else 0

    # -- plugin errors (shared by every process through Redis) -------------

    def record_plugin_error(self, plugin: str, where: str, message: str) -> None:
        entry = {"where": where, "message": message[:2000], "at": utcnow().isoformat()}
        self.redis.hset(PLUGIN_ERRORS_KEY, plugin, json.dumps(entry))

    def plugin_errors(self) -> dict[str, dict]:
        raw = self.redis.hgetall(PLUGIN_ERRORS_KEY)
        errors = {}
        for key, value in raw.items():
            entry = json.loads(value)
            entry["at"] = dt.datetime.fromisoformat(entry["at"])
            errors[key.decode()] = entry
        return errors

    def clear_plugin_error(self, plugin: str) -> None:
        self.redis.hdel(PLUGIN_ERRORS_KEY, plugin)


def state() -> CouveeState:
    """The current app's state (inside a request, job or app context)."""
    return current_app.extensions["couvee"]

