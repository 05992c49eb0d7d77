"""Activate, deactivate and uninstall plugins.

State lives in the ``plugin_state`` table; every change bumps the
``core/plugins_revision`` setting, which each process compares with the
revision its app was built from (see ``core.runtime``).
"""
from __future__ import annotations

import shutil

from ..audit import SYSTEM, record
from ..db import db_proxy, write_transaction
from ..migrations import apply_migrations, forget_migrations
from ..models import PluginState, SettingValue, utcnow
from .discovery import PluginInfo
from .host import CORE_PLUGIN_MODULES, forget_modules, import_plugin, new_plugin_manager


class PluginError(Exception):
    """An operation on a plugin was refused; the message says why."""


def bump_revision(state) -> int:
    database = state.database
    with write_transaction(database):
        row = SettingValue.get_or_none((SettingValue.group == "core") & (SettingValue.key == "plugins_revision"))
        revision = (int(row.value) if row else 0) + 1
        SettingValue.insert(group="core", key="plugins_revision", value=revision).on_conflict(
            conflict_target=[SettingValue.group, SettingValue.key],
            update={SettingValue.value: revision},
        ).execute()
    state.stale = True
    return revision


def _info(state, name: str) -> PluginInfo:
    if name in CORE_PLUGIN_MODULES:
        raise PluginError("core is not a plugin that can be changed")
    info = state.host.discovered.get(name)
    if info is None:
        raise PluginError(f"no plugin named {name!r}")
    return info


def load_alone(info: PluginInfo):
    """Import a plugin into a private plugin manager (to read its migrations
    or models) and validate its hook implementations."""
    if not info.loadable:
        raise PluginError(f"{info.name} cannot be activated: {'; '.join(info.problems)}")
    manager = new_plugin_manager()
    try:
        module = import_plugin(info)
        manager.register(module, name=info.name)
        manager.check_pending()
    except Exception as error:
        raise PluginError(f"{info.name} cannot be activated: {type(error).__name__}: {error}") from error
    return manager


def _collect(manager, hook_name: str) -> list:
    items = []
    for result in getattr(manager.hook, hook_name)():
        items.extend(result or ())
    return items


def set_enabled(name: str, enabled: bool, version: str = "") -> None:
    PluginState.insert(name=name, enabled=enabled, version=version, changed_at=utcnow()).on_conflict(
        conflict_target=[PluginState.name],
        update={PluginState.enabled: enabled, PluginState.version: version, PluginState.changed_at: utcnow()},
    ).execute()


def activate(state, name: str, actor: str = SYSTEM) -> None:
    """Run the plugin's migrations and enable it; ``actor`` (a user's email or
    ``CLI``) is written to the audit log."""
    info = _info(state, name)
    manager = load_alone(info)
    apply_migrations(db_proxy, name, _collect(manager, "register_migrations"))
    set_enabled(name, True, info.version)
    record("plugin.activated", name, actor=actor, version=info.version)
    state.clear_plugin_error(name)
    bump_revision(state)


def deactivate(state, name: str, actor: str = SYSTEM) -> None:
    info = _info(state, name)
    set_enabled(name, False, info.version)
    record("plugin.deactivated", name, actor=actor, version=info.version)
    bump_revision(state)


def uninstall(state, name: str, actor: str = SYSTEM) -> None:
    """Deactivate, drop the plugin's tables, settings and migration records;
    remove its files when it was uploaded."""
    info = _info(state, name)
    models, settings_groups = [], []
    if info.loadable:
        try:
            manager = load_alone(info)
            models = _collect(manager, "register_models")
            settings_groups = [group.id for group in _collect(manager, "register_settings")]
        except PluginError:
            pass  # a broken plugin can still be removed; it owns no table we know of
    with write_transaction(state.database):
        if models:
            state.database.drop_tables(models, safe=True, cascade=not _sqlite(state))
        forget_migrations(name)
        if settings_groups:
            SettingValue.delete().where(SettingValue.group.in_(settings_groups)).execute()
        if info.source == "instance":
            PluginState.delete().where(PluginState.name == name).execute()
        else:
            set_enabled(name, False, info.version)
    record("plugin.uninstalled", name, actor=actor, version=info.version, source=info.source)
    if info.source == "instance" and info.path is not None:
        shutil.rmtree(info.path, ignore_errors=True)
        forget_modules(info.module_name)  # a later upload of the same name must not meet a stale import
    state.clear_plugin_error(name)
    bump_revision(state)


def _sqlite(state) -> bool:
    from ..db import is_sqlite

    return is_sqlite(state.database)
