"""The application factory."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import redis
from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

from . import db as dbmod
from .config import Config, load_config
from .migrations import apply_migrations
from .models import PluginState
from .plugins import discovery
from .plugins.host import CORE_PLUGIN, PluginHost
from .redis_conn import RedisHandle, connect
from .state import CouveeState

log = logging.getLogger("couvee")

CORE_TEMPLATES = Path(__file__).parent / "templates"
THEMES_PACKAGE = Path(__file__).resolve().parent.parent / "themes"


class CouveeFlask(Flask):
    """Flask with Couvée's template resolution: active theme, then plugins,
    then core; ``core:`` and ``<plugin>:`` prefixes reach a template a theme
    overrides, so the override can extend it."""

    def create_global_jinja_loader(self):
        state = self.extensions.get("couvee")
        if state is None:  # before create_app filled the state
            return super().create_global_jinja_loader()
        return template_loader(state)


def template_loader(state: CouveeState) -> ChoiceLoader:
    theme = state.config.theme
    theme_dirs = [
        state.config.instance_path / "themes" / theme / "templates",
        THEMES_PACKAGE / theme / "templates",
    ]
    plugin_dirs = {}
    for name in state.host.active:
        info = state.host.discovered.get(name)
        if info is not None and info.templates_path is not None:
            plugin_dirs[name] = FileSystemLoader(str(info.templates_path))
    prefixed = PrefixLoader({"core": FileSystemLoader(str(CORE_TEMPLATES)), **plugin_dirs}, delimiter=":")
    return ChoiceLoader(
        [FileSystemLoader([str(d) for d in theme_dirs if d.is_dir()])]
        + list(plugin_dirs.values())
        + [FileSystemLoader(str(CORE_TEMPLATES)), prefixed]
    )


def _prepare_database(state: CouveeState, migrate: bool) -> set[str]:
    """Create/upgrade core tables, enable newly bundled plugins, and return the
    names of the enabled plugins."""
    from .plugins.lifecycle import adopt_former_names, enable_new_bundled

    with state.database_connection():
        if migrate:
            with state.redis.lock("couvee:migrate", timeout=600, blocking_timeout=600):
                apply_migrations(state.database, CORE_PLUGIN, _core_migrations())
                adopt_former_names(state.discovered)
                enable_new_bundled(state.discovered)
        enabled = {row.name for row in PluginState.select().where(PluginState.enabled == True)}  # noqa: E712
    return enabled


def _core_migrations():
    from . import builtin

    return builtin.register_migrations()


def _migrate_active(state: CouveeState) -> None:
    """Plugins' pending migrations, in load order. They run in an app context
    of their own, so a migration may call hooks (``core.rename_trigger_type``)."""
    migrating = Flask("couvee.migrations")
    migrating.extensions["couvee"] = state
    with migrating.app_context(), state.database_connection(), \
            state.redis.lock("couvee:migrate", timeout=600, blocking_timeout=600):
        answers = dict(state.host.call("register_migrations"))
        for plugin, _ in state.host.pm.list_name_plugin():  # in load order: dependencies first
            if plugin != CORE_PLUGIN and plugin in answers:
                apply_migrations(state.database, plugin, list(answers[plugin]))


def create_app(
    config: Config | dict | None = None,
    redis_handle: RedisHandle | None = None,
    migrate: bool = True,
    database=None,
) -> Flask:
    """Build a Couvée application.

    ``config`` is a :class:`core.config.Config` or a dict of overrides applied
    on top of the ``COUVEE_*`` environment variables. A rebuild (see
    ``core.runtime``) passes the previous app's Redis handle and database. ``migrate`` applies
    pending migrations of core and of the enabled plugins (under a Redis lock).
    """
    if not isinstance(config, Config):
        config = load_config(config)
    database = database or dbmod.open_database(config.database_url)
    dbmod.init_database(database)
    handle = redis_handle or connect(config.redis_url, config.instance_path)
    state = CouveeState(config, database, handle)
    state.discovered = discovery.discover(config.plugins_path)
    try:
        enabled = _prepare_database(state, migrate)
        state.plugin_revision = state.read_plugin_revision()
    except redis.RedisError as error:
        raise dbmod.ConfigError(f"Redis at {handle.url} does not answer: {error}") from None
    if config.safe_mode:
        log.warning("COUVEE_SAFE_MODE is on: no plugin is loaded")
        enabled = set()
    state.host = PluginHost(state.discovered, enabled, error_sink=state.record_plugin_error)
    for name, reason in state.host.load_errors.items():
        state.record_plugin_error(name, "load", reason)
    if migrate:
        _migrate_active(state)

    app = CouveeFlask("core", static_folder=str(Path(__file__).parent / "static"), static_url_path="/static/core")
    app.extensions["couvee"] = state
    _configure_flask(app, config)
    from . import i18n, web

    i18n.init_app(app)

    web.init_app(app)
    _trust_proxies(app, config.trusted_proxies)
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies (COUVEE_TRUSTED_PROXIES), take the
    client address and scheme from the ``X-Forwarded-For``/``-Proto`` headers
    those proxies append; with 0 the headers are ignored, so a client cannot
    pretend to be someone else (the login throttle keys on this address)."""
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _configure_flask(app: Flask, config: Config) -> None:
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME="couvee_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=60 * 60 * 12,
        MAX_CONTENT_LENGTH=max(config.max_upload_bytes, config.max_plugin_upload_bytes) + 1024 * 1024,
        TESTING=config.testing,
        PREFERRED_URL_SCHEME="https" if config.secure_cookies else "http",
    )
    app.logger.setLevel(os.environ.get("COUVEE_LOG_LEVEL", "INFO"))
