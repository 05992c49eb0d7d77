"""The plugin host of one application: a pluggy manager holding core's own
hooks and the *enabled* plugins, the registries they fill, and a safe way to
call hooks.

Disabled plugins are never imported. When the enabled set changes, the
application is rebuilt (see ``core.runtime``), so a disabled plugin's hooks,
routes, jobs and actions disappear from every process. Enabled plugins are
loaded dependencies first; one whose requirement is not loaded is refused
(see ``core.plugins.dependencies``). A plugin's own hooks (its ``hookspecs``
module, see ``core.plugins.plugin_hookspecs``) are added when it is loaded,
so they come and go with it.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import traceback
from typing import Any, Callable

import pluggy
from flask_babel import force_locale

from .. import hookspecs
from ..registries import Registries, RegistryError
from . import dependencies, plugin_hookspecs
from .discovery import PluginInfo
from .plugin_hookspecs import UNSUPPORTED_SPEC_OPTIONS

log = logging.getLogger("couvee.plugins")

CORE_PLUGIN = "core"
#: core's own hook implementations, registered like plugins (always active);
#: name -> module. Each keeps its own migration versions under its name.
CORE_PLUGIN_MODULES = {
    "core": "core.builtin",
    "core_audit": "core.audit.hooks",
}

ErrorSink = Callable[[str, str, str], None]


class UnknownHook(LookupError):
    """A hook name that neither core nor any installed plugin declares (a typo)."""



def new_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


def import_plugin(info: PluginInfo):
    """Import a plugin's package. Uploaded plugins are loaded from their exact
    folder (never found by searching ``sys.path``, so another instance's copy
    or a same-named module cannot be picked up instead)."""
    if info.source != "instance":
        return importlib.import_module(info.module_name)
    forget_modules(info.module_name, keep_if_under=str(info.path))
    if info.module_name in sys.modules:
        return sys.modules[info.module_name]
    spec = importlib.util.spec_from_file_location(
        info.module_name, info.path / "__init__.py", submodule_search_locations=[str(info.path)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[info.module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[info.module_name]
        raise
    return module


def unsupported_implementations(manager: pluggy.PluginManager, plugin) -> list[str]:
    """Why the host cannot call ``plugin``'s implementations as their authors
    expect: wrappers (``hookwrapper=True``, ``wrapper=True``) would be called
    as plain functions and never wrap anything, and a spec's ``firstresult`` or
    ``historic`` would be ignored. One sentence per problem, naming the hook."""
    problems = []
    for caller in manager.get_hookcallers(plugin) or ():
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            for option in ("hookwrapper", "wrapper"):
                if getattr(impl, option, False):
                    problems.append(f"{caller.name} is implemented with {option}=True; Couvée calls each "
                                    "implementation itself and supports no wrappers")
        spec_options = caller.spec.opts if caller.spec else {}
        for option in UNSUPPORTED_SPEC_OPTIONS:
            if spec_options.get(option):
                problems.append(f"{caller.name} is declared with {option}=True, which Couvée's plugin host "
                                "does not support (every implementation is called)")
    return problems


def forget_modules(module_name: str, keep_if_under: str | None = None) -> None:
    """Drop a package and its submodules from ``sys.modules`` (a re-uploaded or
    other-instance copy must not be served from the import cache)."""
    current = sys.modules.get(module_name)
    if current is not None and keep_if_under:
        location = getattr(current, "__file__", "") or ""
        if location.startswith(keep_if_under + "/"):
            return
    for name in [n for n in sys.modules if n == module_name or n.startswith(module_name + ".")]:
        del sys.modules[name]


class PluginHost:
    def __init__(
        self,
        discovered: dict[str, PluginInfo],
        enabled: set[str],
        error_sink: ErrorSink | None = None,
    ):
        self.discovered = discovered
        self.error_sink = error_sink or (lambda plugin, where, message: None)
        self.load_errors: dict[str, str] = {}
        self.pm = new_plugin_manager()
        #: hooks declared by discovered plugins, loaded or not: name -> plugin
        self.hook_declarers = plugin_hookspecs.hook_declarers(discovered)
        self._module_owners: dict[str, str] = {"core": CORE_PLUGIN}
        for name, module_name in CORE_PLUGIN_MODULES.items():
            self.pm.register(importlib.import_module(module_name), name=name)
        self.pm.check_pending()  # core's own implementations only need core's specs
        for name in dependencies.load_order(enabled, discovered):
            self._load(name)
        self._drop_orphans()
        self.registries = Registries()
        self._fill_registries()

    # -- loading -----------------------------------------------------------

    def _load(self, name: str) -> None:
        info = self.discovered.get(name)
        if info is None:
            self.load_errors[name] = "enabled in the database but not found on disk"
            return
        if not info.loadable:
            self.load_errors[name] = "; ".join(info.problems)
            return
        missing = self._missing_requirements(info)
        if missing:
            self.load_errors[name] = "not loaded: " + "; ".join(missing)
            log.error("plugin %s not loaded: %s", name, self.load_errors[name])
            return
        try:
            module = import_plugin(info)
            specs = plugin_hookspecs.import_hookspecs(info)
        except Exception as error:  # a broken plugin must not take the site down
            self.load_errors[name] = f"import failed: {type(error).__name__}: {error}"
            log.error("plugin %s failed to load:\n%s", name, traceback.format_exc())
            return
        if not self._register(name, module):
            return
        self._module_owners[info.module_name] = name
        if specs is not None:
            self._add_hookspecs(name, specs)

    def _register(self, name: str, module) -> bool:
        """Register a plugin's implementations, or refuse it (and say why)
        when one does not fit its spec, is a wrapper, or implements a hook
        nobody declares."""
        try:
            self.pm.register(module, name=name)
        except pluggy.PluginValidationError as error:
            self._refuse(name, f"invalid hook implementation: {error}")
            return False
        problems = unsupported_implementations(self.pm, module)
        if problems:
            self.pm.unregister(module)
            self._refuse(name, "unsupported hook implementation: " + "; ".join(problems))
            return False
        unknown = plugin_hookspecs.unknown_hooks(self.pm, module, set(self.hook_declarers))
        if unknown:
            self.pm.unregister(module)
            self._refuse(name, "invalid hook implementation: no plugin declares "
                               + ", ".join(repr(hook) for hook in unknown))
            return False
        return True

    def _add_hookspecs(self, name: str, specs) -> None:
        """Declare the hooks of plugin ``name`` (already registered). Loaded
        plugins whose implementations do not fit are unloaded and reported;
        if ``name``'s own do not, or a spec is unsupported, it is refused and
        its hooks are not added."""
        problems = plugin_hookspecs.spec_problems(self.pm, specs)
        refused = plugin_hookspecs.implementations_refused_by(self.pm, specs)
        problems += [f"core's own {other} does not fit: {reason}" for other, reason in refused.items()
                     if other in CORE_PLUGIN_MODULES]  # core's own modules are never unloaded
        if problems or name in refused:
            self._unload(name)
            reasons = problems + ([f"invalid hook implementation: {refused[name]}"] if name in refused else [])
            self._refuse(name, "; ".join(reasons))
            return
        for other, reason in refused.items():
            self._unload(other)
            self._refuse(other, f"invalid hook implementation: {reason}")
        self.pm.add_hookspecs(specs)

    def _unload(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._module_owners = {k: v for k, v in self._module_owners.items() if v != name}

    def _refuse(self, name: str, reason: str) -> None:
        self.load_errors[name] = reason
        log.error("plugin %s refused: %s", name, reason)

    def _missing_requirements(self, info: PluginInfo) -> list[str]:
        """Requirements of ``info`` that no loaded plugin meets (the loaded
        ones were loaded first, see ``dependencies.load_order``), in English
        like the rest of a load error (it goes to the log as well)."""
        with force_locale("en"):
            cycle = dependencies.cycle_through(info.name, self.discovered)
            if cycle:
                return [dependencies.describe_cycle(cycle)]
            missing = []
            for requirement in info.requires:
                reason = dependencies.unmet(requirement, self.discovered)
                if reason is None and not self.pm.has_plugin(requirement.name):
                    reason = f"{requirement} is not active"
                if reason:
                    missing.append(reason)
            return missing

    def _drop_orphans(self) -> None:
        """Unload the plugins whose requirement was refused after they were
        loaded (its implementation of a later plugin's hook did not fit the
        spec), and, in turn, their dependents."""
        changed = True
        while changed:
            changed = False
            for name in reversed(self.active):
                info = self.discovered[name]
                gone = [str(r) for r in info.requires if not self.pm.has_plugin(r.name)]
                if gone:
                    self._unload(name)
                    self.load_errors[name] = "not loaded: " + "; ".join(f"{r} is not active" for r in gone)
                    changed = True

    def _fill_registries(self) -> None:
        """Core's own modules register first, so a plugin can never take over a
        core id (an event kind, an action...): the plugin's duplicate is the
        one refused and reported. Plugins follow in load order, so between
        two plugins the one required by the other keeps an id both declare."""
        loaded = {name: position for position, (name, _) in enumerate(self.pm.list_name_plugin())}

        def rank(answer) -> tuple:
            core = answer[0] in CORE_PLUGIN_MODULES
            return (not core, 0 if core else loaded.get(answer[0], 0))

        for hook_name, attribute in Registries.HOOKS.items():
            registry = getattr(self.registries, attribute)
            answers = self.call(hook_name, event_kinds=self.registries.event_kinds)
            for plugin, items in sorted(answers, key=rank):
                for item in items or ():
                    try:
                        registry.add(item, plugin)
                    except RegistryError as error:
                        self._report(plugin, hook_name, str(error))

    # -- facts -------------------------------------------------------------

    @property
    def active(self) -> list[str]:
        """Active plugins (core's own modules excluded)."""
        return [name for name, _ in self.pm.list_name_plugin() if name not in CORE_PLUGIN_MODULES]

    def is_active(self, name: str) -> bool:
        return name in CORE_PLUGIN_MODULES or self.pm.has_plugin(name)

    def owner_of(self, module_name: str) -> str | None:
        """The plugin that owns a module (``plugins.forms.jobs`` -> ``forms``)."""
        best = None
        for prefix, plugin in self._module_owners.items():
            if module_name == prefix or module_name.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[0]):
                    best = (prefix, plugin)
        if best:
            return best[1]
        for info in self.discovered.values():
            if module_name == info.module_name or module_name.startswith(info.module_name + "."):
                return info.name
        return None

    # -- calling hooks -----------------------------------------------------

    def call(self, hook_name: str, **kwargs) -> list[tuple[str, Any]]:
        """Call every implementation, most recently registered first; return
        ``(plugin name, result)`` pairs for non-None results. An implementation
        that raises is logged and reported against its plugin, then the hook's
        policy (declared beside its spec, see ``core.hookspecs.policy``)
        decides: ISOLATED skips it, FAIL_CLOSED counts it as ``False``, STRICT
        re-raises (an erasure must not half-happen).

        A hook an installed plugin declares while that plugin is off returns
        ``[]`` (implementations waiting for its spec are not called); a name
        no installed plugin declares is a mistake and raises
        :class:`UnknownHook`.
        """
        caller = getattr(self.pm.hook, hook_name, None)
        if caller is None or caller.spec is None:
            if hook_name in self.hook_declarers:
                return []
            raise UnknownHook(f"no hook named {hook_name!r}: neither core nor an installed plugin declares it")
        hook_policy = hookspecs.policy_of(caller.spec.function)
        results = []
        for impl in reversed(caller.get_hookimpls()):
            try:
                result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception as error:
                self._report(impl.plugin_name, hook_name, f"{type(error).__name__}: {error}")
                log.error("plugin %s raised in %s:\n%s", impl.plugin_name, hook_name, traceback.format_exc())
                if hook_policy is hookspecs.FAIL_CLOSED:
                    results.append((impl.plugin_name, False))
                if hook_policy is hookspecs.STRICT:
                    raise
                continue
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    def results(self, hook_name: str, **kwargs) -> list:
        return [result for _, result in self.call(hook_name, **kwargs)]

    def _report(self, plugin: str, where: str, message: str) -> None:
        try:
            self.error_sink(plugin, where, message)
        except Exception:  # reporting must never break the caller
            log.exception("could not record the error of plugin %s", plugin)
