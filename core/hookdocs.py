"""Generate docs/hooks.md from the hookspecs, so the reference cannot drift:
core's (``core/hookspecs.py``), then those each bundled plugin declares in its
``hookspecs`` module, under the plugin.

    python -m core.hookdocs > docs/hooks.md
"""
from __future__ import annotations

import inspect
import textwrap
from types import ModuleType

from . import hookspecs
from .plugins.discovery import bundled_plugins
from .plugins.plugin_hookspecs import import_hookspecs

INTRO = """# Hooks reference

Generated from `core/hookspecs.py` and the bundled plugins' `hookspecs` modules
by `python -m core.hookdocs > docs/hooks.md`; a test fails when this file and the
hookspecs disagree. Hooks declared by a plugin come last, under their plugin:
they exist while that plugin is active (see "Declaring your own hooks" in
docs/plugins.md).

A plugin implements a hook with the marker re-exported by core:

```python
from core import hookimpl
```

Hooks are always called with keyword arguments; an implementation may accept
only the arguments it needs. Families:

- `register_*`: called when an app (web, worker or cron) is built; each returns
  a list of typed objects (see `core/extension.py`) collected into registries
  that refuse duplicate ids.
- `contact_*`: things that happened to a contact, called in a worker after the
  change is committed (`contact_can_receive` is asked before each send).
- `tpl_*`: HTML for named template slots.

An implementation that raises is logged and recorded against its plugin (shown
on the dashboard and the Plugins page); what happens next is the hook's
**policy**, declared beside its spec with `@policy(...)` and shown in each
section below:

- **isolated** (the default): the implementation is skipped, the other plugins
  still run;
- **fail closed**: it counts as answering `False` (a veto);
- **strict**: the error reaches the caller, which stops.

Couvée calls each implementation itself, so a plugin implementing a hook with
`hookwrapper=True` or `wrapper=True` (or a hook declared `firstresult` or
`historic`) is refused when it loads, with an error naming the plugin and the
hook (shown on the Plugins page and by `couvee plugins list`); so is a plugin
declaring such a hook in its own `hookspecs` module.
"""


def spec_modules() -> list[tuple[str | None, ModuleType]]:
    """``(plugin name or None for core, hookspecs module)``: core's first,
    then the bundled plugins' that declare hooks, by name."""
    modules: list[tuple[str | None, ModuleType]] = [(None, hookspecs)]
    for info in bundled_plugins():
        specs = import_hookspecs(info) if info.loadable else None
        if specs is not None:
            modules.append((info.name, specs))
    return modules


def declared_in(module: ModuleType) -> list:
    """The hookspec functions of ``module``, in source order."""
    functions = [
        function
        for _, function in inspect.getmembers(module, inspect.isfunction)
        if hasattr(function, hookspecs.PROJECT + "_spec") and function.__module__ == module.__name__
    ]
    return sorted(functions, key=lambda function: inspect.getsourcelines(function)[1])


def hook_functions() -> dict:
    """Every documented hook: name -> its spec function (core's, then the plugins')."""
    return {function.__name__: function for _, module in spec_modules() for function in declared_in(module)}


def hook_names() -> list[str]:
    return list(hook_functions())


def render_hook(function) -> str:
    name = function.__name__
    signature = ", ".join(inspect.signature(function).parameters)
    doc = inspect.cleandoc(function.__doc__ or "")
    text, _, example = doc.partition("Example::")
    doc = text.strip()
    if example.strip():
        doc += "\n\nExample:\n\n```python\n" + textwrap.dedent(example).strip() + "\n```"
    policy = hookspecs.policy_of(function)
    policy_line = f"Policy: **{policy.name}**: {policy.on_error}"
    return f"## {name}\n\n`{name}({signature})`\n\n{policy_line}\n\n{doc}\n"


def plugin_heading(plugin: str, module: ModuleType) -> str:
    intro = inspect.cleandoc(module.__doc__ or "")
    return (f"# Hooks declared by the {plugin} plugin\n\n"
            f"Declared in `plugins/{plugin}/hookspecs.py`.\n\n{intro}\n").rstrip() + "\n"


def render() -> str:
    parts = [INTRO]
    for plugin, module in spec_modules():
        if plugin is not None:
            parts.append(plugin_heading(plugin, module))
        parts.extend(render_hook(function) for function in declared_in(module))
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
