"""Hooks a plugin declares for other plugins to implement.

A plugin declares its hooks in a ``hookspecs`` module of its package
(``plugins/tracking/hookspecs.py``), with the ``core.hookspec`` marker; the
plugin host adds them to its plugin manager when the plugin is loaded, so a
disabled plugin's hooks are not there. Implementations use ``core.hookimpl``
like any other hook.

Which plugin declares which hook is read from the source without importing
it (a disabled plugin is never imported): an implementation of a hook that a
known plugin declares is accepted while that plugin is off, and simply not
called; an implementation of a hook nobody declares is a typo, refused.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pluggy

from .. import hookspecs
from .discovery import PluginInfo

#: the module of a plugin package that holds its hookspecs
HOOKSPECS_MODULE = "hookspecs"

#: hookspec options the plugin host does not honour (it calls every
#: implementation itself): a hook declaring one is refused, not half-obeyed
UNSUPPORTED_SPEC_OPTIONS = ("firstresult", "historic")


def hookspecs_file(info: PluginInfo) -> Path | None:
    if info.path is None:
        return None
    path = info.path / f"{HOOKSPECS_MODULE}.py"
    return path if path.is_file() else None


def _is_hookspec_marker(decorator: ast.expr) -> bool:
    if isinstance(decorator, ast.Call):
        decorator = decorator.func
    if isinstance(decorator, ast.Name):
        return decorator.id == "hookspec"
    return isinstance(decorator, ast.Attribute) and decorator.attr == "hookspec"


def declared_hook_names(info: PluginInfo) -> set[str]:
    """The hooks ``info``'s ``hookspecs`` module declares, read from its
    source (functions decorated with ``hookspec``); empty when it has none or
    the file cannot be parsed (importing it will then say why)."""
    path = hookspecs_file(info)
    if path is None:
        return set()
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return set()
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any(_is_hookspec_marker(d) for d in node.decorator_list)
    }


def hook_declarers(discovered: dict[str, PluginInfo]) -> dict[str, str]:
    """Hook name -> the discovered plugin that declares it."""
    declarers = {}
    for name, info in discovered.items():
        for hook_name in declared_hook_names(info):
            declarers.setdefault(hook_name, name)
    return declarers


def import_hookspecs(info: PluginInfo) -> ModuleType | None:
    """The plugin's ``hookspecs`` module (its package already imported), or
    None when it declares no hooks."""
    if hookspecs_file(info) is None:
        return None
    return importlib.import_module(f"{info.module_name}.{HOOKSPECS_MODULE}")


def spec_problems(manager: pluggy.PluginManager, specs: ModuleType) -> list[str]:
    """Why the host cannot add these specs: an option it does not honour, or a
    hook name core or another plugin already declares."""
    problems = []
    for name in dir(specs):
        options = manager.parse_hookspec_opts(specs, name)
        if options is None:
            continue
        for option in UNSUPPORTED_SPEC_OPTIONS:
            if options.get(option):
                problems.append(f"{name} is declared with {option}=True, which Couvée's plugin host "
                                "does not support (every implementation is called)")
        caller = getattr(manager.hook, name, None)
        if caller is not None and caller.spec is not None:
            problems.append(f"{name} is already declared by {caller.spec.namespace.__name__}")
    if not any(manager.parse_hookspec_opts(specs, name) for name in dir(specs)):
        problems.append(f"{specs.__name__} declares no hook (decorate them with core.hookspec)")
    return problems


def implementations_refused_by(manager: pluggy.PluginManager, specs: ModuleType) -> dict[str, str]:
    """Registered plugins whose implementations do not fit these specs (an
    argument the spec does not have...): plugin name -> pluggy's reason.
    Checked on a scratch manager, so the real one is left untouched."""
    probe = pluggy.PluginManager(hookspecs.PROJECT)
    probe.add_hookspecs(specs)
    declared = {name for name in dir(specs) if probe.parse_hookspec_opts(specs, name)}
    implementers = {
        impl.plugin_name: impl.plugin
        for name in declared
        for impl in (getattr(manager.hook, name).get_hookimpls() if hasattr(manager.hook, name) else ())
    }
    refused = {}
    for plugin_name, plugin in implementers.items():
        try:
            probe.register(plugin, name=plugin_name)
        except pluggy.PluginValidationError as error:
            refused[plugin_name] = str(error)
    return refused


def unknown_hooks(manager: pluggy.PluginManager, plugin, known: set[str]) -> list[str]:
    """Hooks ``plugin`` implements that nobody declares: neither core, nor a
    loaded plugin, nor a known plugin that is off (``known``). Implementations
    marked ``optionalhook=True`` are never unknown."""
    unknown = []
    for caller in manager.get_hookcallers(plugin) or ():
        if caller.spec is not None or caller.name in known:
            continue
        if any(impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls()):
            unknown.append(caller.name)
    return sorted(unknown)
