"""Activate, deactivate and uninstall plugins.

State lives in the ``plugin_state`` table; every change bumps the
``core/plugins_revision`` setting, which each process compares with the
revision its app was built from (see ``core.runtime``).

Requirements between plugins (``requires`` in ``plugin.toml``) are obeyed
here: see ``core.plugins.dependencies`` for the rules.
"""
from __future__ import annotations

import logging
import shutil

from ..audit import SYSTEM, record
from ..db import db_proxy, write_transaction
from ..i18n import core_domain, current_language
from ..migrations import MigrationError, apply_migrations, forget_migrations
from ..models import MigrationRecord, PluginState, SettingValue, utcnow
from . import dependencies, plugin_hookspecs
from .discovery import PluginInfo
from .host import CORE_PLUGIN_MODULES, forget_modules, import_plugin, new_plugin_manager

log = logging.getLogger("couvee.plugins")
_ = core_domain().gettext


class PluginError(Exception):
    """An operation on a plugin was refused; the message says why."""


class NeedsOthers(PluginError):
    """Refused because other plugins must change first: the disabled
    requirements of a plugin to activate, or the enabled dependents of a plugin
    to deactivate (``others``, in the order they would change). Asking again
    with ``with_requirements`` / ``with_dependents`` changes them too."""

    def __init__(self, message: str, others: list[str]):
        super().__init__(message)
        self.others = others


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


def load_alone(info: PluginInfo, discovered: dict[str, PluginInfo]):
    """Import a plugin into a private plugin manager (to read its migrations
    or models) with core's hooks and its own, and validate its hook
    implementations. An implementation of a hook another discovered plugin
    declares is accepted (it waits for that plugin); of a hook nobody
    declares, refused."""
    if not info.loadable:
        raise PluginError(f"{info.name} cannot be activated: {'; '.join(info.problems)}")
    manager = new_plugin_manager()
    try:
        module = import_plugin(info)
        specs = plugin_hookspecs.import_hookspecs(info)
        if specs is not None:
            manager.add_hookspecs(specs)
        manager.register(module, name=info.name)
    except Exception as error:
        raise PluginError(f"{info.name} cannot be activated: {type(error).__name__}: {error}") from error
    unknown = plugin_hookspecs.unknown_hooks(manager, module, set(plugin_hookspecs.hook_declarers(discovered)))
    if unknown:
        raise PluginError(f"{info.name} cannot be activated: no plugin declares the hooks it implements: "
                          + ", ".join(unknown))
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


def enabled_names() -> set[str]:
    return {row.name for row in PluginState.select(PluginState.name).where(PluginState.enabled == True)}  # noqa: E712


def titles(state, names) -> str:
    """``Forms (forms), Segments (segments)`` for a message, in the current language."""
    return ", ".join(f"{title_of(state.host.discovered[n])} ({n})" if n in state.host.discovered else n
                     for n in names)


def title_of(info: PluginInfo) -> str:
    """The plugin's title in the current language (its name when it has none)."""
    return info.title_in(current_language()) or info.name


def activation_plan(state, name: str) -> list[str]:
    """The plugins to enable for ``name`` to work, dependencies first and
    ``name`` last; raises PluginError when a requirement is not installed, at
    a refused version, or in a cycle."""
    info = _info(state, name)
    problems = dependencies.problems(name, state.host.discovered)
    if problems:
        raise PluginError(_("%(plugin)s cannot be activated: %(problems)s", plugin=title_of(info),
                            problems="; ".join(problems)))
    enabled = enabled_names()
    return [needed for needed in dependencies.closure(name, state.host.discovered)
            if needed == name or needed not in enabled]


def activate(state, name: str, actor: str = SYSTEM, with_requirements: bool = False) -> list[str]:
    """Run the plugin's migrations and enable it; ``actor`` (a user's email or
    ``CLI``) is written to the audit log. A disabled requirement is refused
    (:class:`NeedsOthers`) unless ``with_requirements``: then it is activated
    first. Returns the plugins activated, in order."""
    plan = activation_plan(state, name)
    requirements = plan[:-1]
    if requirements and not with_requirements:
        info = state.host.discovered[name]
        raise NeedsOthers(_("%(plugin)s requires plugins that are not active: %(others)s. Activate them first, "
                            "or together with it.", plugin=title_of(info), others=titles(state, requirements)),
                          requirements)
    done = []
    try:
        for needed in plan:
            info = state.host.discovered[needed]
            manager = load_alone(info, state.host.discovered)
            try:
                apply_migrations(db_proxy, needed, _collect(manager, "register_migrations"))
            except MigrationError as error:
                raise PluginError(_("%(plugin)s cannot be activated: %(problems)s", plugin=title_of(info),
                                    problems=str(error))) from error
            set_enabled(needed, True, info.version)
            record("plugin.activated", needed, actor=actor, version=info.version,
                   **({"required_by": name} if needed != name else {}))
            state.clear_plugin_error(needed)
            done.append(needed)
    finally:
        if done:  # requirements activated before a failure stay active
            bump_revision(state)
    return plan


def deactivate(state, name: str, actor: str = SYSTEM, with_dependents: bool = False) -> list[str]:
    """Disable the plugin (its data is kept). Refused (:class:`NeedsOthers`)
    while enabled plugins require it, unless ``with_dependents``: then they
    are deactivated first. Returns the plugins deactivated, in order."""
    info = _info(state, name)
    needing = dependencies.dependents(name, state.host.discovered, enabled_names())
    if needing and not with_dependents:
        raise NeedsOthers(_("%(plugin)s is required by active plugins: %(others)s. Deactivate them first, "
                            "or together with it.", plugin=title_of(info), others=titles(state, needing)), needing)
    for plugin in needing + [name]:
        version = state.host.discovered[plugin].version if plugin in state.host.discovered else ""
        set_enabled(plugin, False, version)
        record("plugin.deactivated", plugin, actor=actor, version=version,
               **({"requires": name} if plugin != name else {}))
    bump_revision(state)
    return needing + [name]


def uninstall(state, name: str, actor: str = SYSTEM) -> None:
    """Deactivate, drop the plugin's tables, settings and migration records;
    remove its files when it was uploaded. Refused while enabled plugins
    require it (deactivate them first)."""
    info = _info(state, name)
    needing = dependencies.dependents(name, state.host.discovered, enabled_names())
    if needing:
        raise PluginError(_("%(plugin)s cannot be uninstalled: active plugins require it: %(others)s. "
                            "Deactivate them first.", plugin=title_of(info), others=titles(state, needing)))
    models, settings_groups = [], []
    if info.loadable:
        try:
            manager = load_alone(info, state.host.discovered)
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


def adopt_former_names(discovered: dict[str, PluginInfo]) -> list[str]:
    """At start, with the migration lock held: a plugin whose manifest says
    ``formerly = "old"`` takes over what the database holds under ``old``
    (e.g. a module core registered as an internal plugin until it became a
    bundled plugin): its migration records, so its tables are not created again, and
    its enabled state when ``old`` had one (a core module had none: it was
    always on, and the plugin is then enabled as a new bundled one). Done
    once: nothing is adopted while a plugin named ``old`` is installed or
    once the new name has migration records or a state of its own. Returns
    the plugins that adopted a former name."""
    adopted = []
    for name, info in discovered.items():
        old = info.formerly
        if not old or old in discovered or old in CORE_PLUGIN_MODULES or not info.loadable:
            continue
        old_records = MigrationRecord.select().where(MigrationRecord.plugin == old)
        old_state = PluginState.get_or_none(PluginState.name == old)
        if not old_records.exists() and old_state is None:
            continue
        if MigrationRecord.select().where(MigrationRecord.plugin == name).exists() or \
                PluginState.get_or_none(PluginState.name == name) is not None:
            continue
        with write_transaction(db_proxy):
            MigrationRecord.update(plugin=name).where(MigrationRecord.plugin == old).execute()
            if old_state is not None:
                set_enabled(name, old_state.enabled, info.version)
                PluginState.delete().where(PluginState.name == old).execute()
        log.info("plugin %s adopted the migration records of %s", name, old)
        adopted.append(name)
    return adopted


def enable_new_bundled(discovered: dict[str, PluginInfo]) -> None:
    """At start, with the migration lock held: enable the bundled plugins the
    database has never seen, dependencies first. One whose requirements are
    not met is recorded disabled (the Plugins page says why)."""
    known = {row.name for row in PluginState.select(PluginState.name)}
    enabled = enabled_names()
    new = [name for name, info in discovered.items()
           if info.source == "bundled" and name not in known and info.loadable]
    for name in dependencies.load_order(new, discovered):
        info = discovered[name]
        problems = dependencies.problems(name, discovered) or [
            f"{requirement} is not active" for requirement in info.requires if requirement.name not in enabled]
        if problems:
            log.error("bundled plugin %s left inactive: %s", name, "; ".join(problems))
            set_enabled(name, False, info.version)
            continue
        try:
            manager = load_alone(info, discovered)
        except PluginError as error:
            log.error("%s", error)
            continue
        apply_migrations(db_proxy, name, _collect(manager, "register_migrations"))
        set_enabled(name, True, info.version)
        enabled.add(name)
