"""Plugin dependencies: the ``requires`` list of a plugin's manifest.

A requirement names another plugin and, optionally, a PEP 440 specifier on
the ``version`` of that plugin's manifest (``"segments>=1"``). The rules:

- plugins are loaded, and their migrations run, dependencies first;
- a plugin is activated only when each requirement is installed, at an
  accepted version, and enabled (``lifecycle.activate`` can enable the
  disabled ones first when asked to);
- a plugin that enabled plugins require is not deactivated or uninstalled
  (``lifecycle.deactivate`` can deactivate those dependents first when asked);
- a cycle of requirements is an error for every plugin in it.

Every function here is pure: it reads manifests (:class:`PluginInfo`) and
sets of names, never the database; its messages are in the current language.
"""
from __future__ import annotations

from typing import Iterable

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from ..i18n import core_domain
from .discovery import PluginInfo

_ = core_domain().gettext


def unmet(requirement: Requirement, discovered: dict[str, PluginInfo]) -> str | None:
    """Why ``requirement`` cannot be met by the installed plugins (None when it can)."""
    info = discovered.get(requirement.name)
    if info is None:
        return _("%(requirement)s is not installed", requirement=str(requirement))
    if not str(requirement.specifier):
        return None
    try:
        version = Version(info.version)
    except InvalidVersion:
        return _("%(requirement)s is wanted but %(plugin)s's version %(version)s is not a PEP 440 version",
                 requirement=str(requirement), plugin=info.name, version=repr(info.version))
    if not requirement.specifier.contains(version, prereleases=True):
        return _("%(requirement)s is wanted but %(plugin)s %(version)s is installed", requirement=str(requirement),
                 plugin=info.name, version=info.version)
    return None


def cycle_through(name: str, discovered: dict[str, PluginInfo]) -> list[str] | None:
    """The requirement cycle ``name`` is part of or leads to, as a path
    (``["a", "b", "a"]``), or None."""
    path: list[str] = []
    finished: set[str] = set()

    def visit(current: str) -> list[str] | None:
        if current in path:
            return path[path.index(current):] + [current]
        if current in finished or current not in discovered:
            return None
        path.append(current)
        for requirement in discovered[current].requires:
            found = visit(requirement.name)
            if found:
                return found
        path.pop()
        finished.add(current)
        return None

    return visit(name)


def describe_cycle(cycle: list[str]) -> str:
    return _("dependency cycle: %(cycle)s", cycle=_(" requires ").join(cycle))


def closure(name: str, discovered: dict[str, PluginInfo]) -> list[str]:
    """``name`` last, after every plugin it needs, directly or not,
    dependencies first. Requirements that are not installed are left out
    (see :func:`unmet`)."""
    reachable: set[str] = set()
    frontier = [name]
    while frontier:
        current = frontier.pop()
        if current in reachable or current not in discovered:
            continue
        reachable.add(current)
        frontier.extend(requirement.name for requirement in discovered[current].requires)
    return load_order(reachable - {name}, discovered) + [name]


def problems(name: str, discovered: dict[str, PluginInfo]) -> list[str]:
    """What prevents ``name`` from being activated whatever is enabled: a
    requirement (or a requirement's requirement) not installed or at a
    refused version, or a cycle."""
    found = []
    cycle = cycle_through(name, discovered)
    if cycle:
        found.append(describe_cycle(cycle))
    for needed in closure(name, discovered):
        info = discovered[needed]
        for requirement in info.requires:
            reason = unmet(requirement, discovered)
            if reason:
                found.append(reason if needed == name else f"{needed}: {reason}")
    return found


def load_order(names: Iterable[str], discovered: dict[str, PluginInfo]) -> list[str]:
    """``names`` sorted so each plugin comes after the plugins it requires
    (alphabetical among independent ones). A name in a cycle keeps its
    alphabetical place; the host then refuses it because its requirement is
    not loaded yet."""
    wanted = sorted(set(names))
    ordered: list[str] = []

    def visit(current: str, seen: tuple[str, ...]) -> None:
        if current in ordered or current in seen or current not in wanted:
            return
        info = discovered.get(current)
        for requirement in info.requires if info else ():
            visit(requirement.name, seen + (current,))
        ordered.append(current)

    for name in wanted:
        visit(name, ())
    return ordered


def dependents(name: str, discovered: dict[str, PluginInfo], enabled: Iterable[str]) -> list[str]:
    """The enabled plugins that need ``name``, directly or not, the most
    dependent first (the order to deactivate them in)."""
    enabled = set(enabled)
    needing: list[str] = []
    frontier = [name]
    while frontier:
        current = frontier.pop(0)
        for other in sorted(enabled - {name} - set(needing)):
            info = discovered.get(other)
            if info and any(requirement.name == current for requirement in info.requires):
                needing.append(other)
                frontier.append(other)
    order = load_order(needing, discovered)
    return list(reversed(order))


def required_by(name: str, discovered: dict[str, PluginInfo]) -> list[str]:
    """The installed plugins whose manifest names ``name`` (for display)."""
    return sorted(other for other, info in discovered.items()
                  if any(requirement.name == name for requirement in info.requires))


def broken_by(info: PluginInfo, discovered: dict[str, PluginInfo], enabled: Iterable[str]) -> list[str]:
    """The requirements of enabled plugins that ``info`` (a new version of a
    plugin, e.g. just uploaded) does not meet, as ``"addon: base>=2"``."""
    with_new = {**discovered, info.name: info}
    return [f"{other}: {requirement}" for other in sorted(set(enabled) - {info.name}) if other in discovered
            for requirement in discovered[other].requires
            if requirement.name == info.name and unmet(requirement, with_new)]
