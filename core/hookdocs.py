"""Generate docs/hooks.md from the hookspecs, so the reference cannot drift.

    python -m core.hookdocs > docs/hooks.md
"""
from __future__ import annotations

import inspect
import textwrap

from . import hookspecs

INTRO = """# Hooks reference

Generated from `core/hookspecs.py` by `python -m core.hookdocs > docs/hooks.md`;
a test fails when this file and the hookspecs disagree.

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
hook (shown on the Plugins page and by `couvee plugins list`).
"""


def hook_names() -> list[str]:
    return [
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, hookspecs.PROJECT + "_spec")
    ]


def render() -> str:
    functions = {name: getattr(hookspecs, name) for name in hook_names()}
    ordered = sorted(functions, key=lambda name: inspect.getsourcelines(functions[name])[1])
    parts = [INTRO]
    for name in ordered:
        function = functions[name]
        signature = ", ".join(inspect.signature(function).parameters)
        doc = inspect.cleandoc(function.__doc__ or "")
        text, _, example = doc.partition("Example::")
        doc = text.strip()
        if example.strip():
            doc += "\n\nExample:\n\n```python\n" + textwrap.dedent(example).strip() + "\n```"
        policy = hookspecs.policy_of(function)
        policy_line = f"Policy: **{policy.name}**: {policy.on_error}"
        parts.append(f"## {name}\n\n`{name}({signature})`\n\n{policy_line}\n\n{doc}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
