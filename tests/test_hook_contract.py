"""The hook contract: every hookspec is documented (docs/hooks.md is generated
from the specs and must be current), has an example, and has a test."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core import hookdocs
from core.plugins.host import PluginHost

ROOT = Path(__file__).resolve().parent.parent


def test_every_hookspec_is_documented_and_the_reference_is_current():
    reference = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    for name in hookdocs.hook_names():
        assert f"## {name}\n" in reference, f"docs/hooks.md lacks a section for {name}"
    assert reference == hookdocs.render(), "docs/hooks.md is stale: run python -m core.hookdocs > docs/hooks.md"


@pytest.mark.parametrize("name", hookdocs.hook_names())
def test_every_hookspec_has_a_docstring_with_an_example(name):
    doc = hookdocs.hook_functions()[name].__doc__ or ""
    assert "Example::" in doc and "@hookimpl" in doc, f"{name} needs an example in its docstring"


def test_every_hookspec_has_a_test():
    tested = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_"):
                tested.add(node.name[len("test_hook_"):])
    missing = sorted(set(hookdocs.hook_names()) - tested)
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


def test_a_misspelled_hook_is_an_error_not_a_silent_no_op(tmp_path):
    """pm.check_pending() runs after loading: the plugin is refused and named."""
    from core.plugins.discovery import discover

    package = tmp_path / "typo_plugin"
    package.mkdir()
    (package / "plugin.toml").write_text(
        'name = "typo_plugin"\ntitle = "Typo"\nversion = "1.0"\ndescription = "d"\n'
        'author = "a"\nrequires_core = ">=0.1"\n'
    )
    (package / "__init__.py").write_text(
        "from core import hookimpl\n\n@hookimpl\ndef contact_creatd(contact):\n    pass\n"
    )
    host = PluginHost(discover(tmp_path), {"typo_plugin"})
    assert not host.is_active("typo_plugin")
    assert "contact_creatd" in host.load_errors["typo_plugin"]


def test_registries_refuse_duplicate_ids():
    from core.extension import Action
    from core.registries import Registry, RegistryError

    registry = Registry("actions", Action)
    registry.add(Action("tag.add", "Add a tag", run=print), "one")
    with pytest.raises(RegistryError, match="already registered by plugin 'one'"):
        registry.add(Action("tag.add", "Another", run=print), "two")
    with pytest.raises(RegistryError, match="expected Action"):
        registry.add("not an action", "two")
