"""Hook policies are declared beside each hookspec (core/hookspecs.py) and read by
the plugin host; implementations the host cannot honour are refused at load."""
from __future__ import annotations

import types
from pathlib import Path

import pytest

from core import hookspecs
from core.hookdocs import hook_functions, hook_names
from core.plugins import host as host_module
from core.plugins.discovery import discover
from core.plugins.host import PluginHost

ROOT = Path(__file__).resolve().parent.parent


def write_plugin(folder: Path, name: str, source: str) -> Path:
    package = folder / name
    package.mkdir()
    (package / "plugin.toml").write_text(
        f'name = "{name}"\ntitle = "{name}"\nversion = "1.0"\ndescription = "d"\n'
        'author = "a"\nrequires_core = ">=0.1"\n'
    )
    (package / "__init__.py").write_text("from core import hookimpl\n\n" + source)
    return package


RAISING = '''
@hookimpl
def contact_created(contact):
    raise RuntimeError("created broke")

@hookimpl
def contact_can_receive(contact, channel, purpose):
    raise RuntimeError("can_receive broke")

@hookimpl
def contact_erase(contact, mode):
    raise RuntimeError("erase broke")
'''

ANSWERING = '''
@hookimpl
def contact_created(contact):
    return "seen"

@hookimpl
def contact_can_receive(contact, channel, purpose):
    return True
'''


@pytest.fixture
def two_plugins_host(tmp_path):
    write_plugin(tmp_path, "policy_raiser", RAISING)
    write_plugin(tmp_path, "policy_answerer", ANSWERING)
    reported = []
    host = PluginHost(discover(tmp_path), {"policy_raiser", "policy_answerer"},
                      error_sink=lambda plugin, where, message: reported.append((plugin, where)))
    assert host.is_active("policy_raiser") and host.is_active("policy_answerer"), host.load_errors
    host.reported = reported
    return host


def test_policies_are_declared_beside_the_hookspecs():
    assert hookspecs.policy_of(hookspecs.contact_erase) is hookspecs.STRICT
    assert hookspecs.policy_of(hookspecs.contact_can_receive) is hookspecs.FAIL_CLOSED
    assert hookspecs.policy_of(hookspecs.contact_created) is hookspecs.ISOLATED
    assert not hasattr(host_module, "STRICT_HOOKS")


def test_the_hooks_reference_shows_each_hooks_policy():
    reference = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    sections = {part.split("\n", 1)[0]: part for part in reference.split("\n## ")[1:]}
    assert set(sections) == set(hook_names())
    for name, section in sections.items():
        policy = hookspecs.policy_of(hook_functions()[name])
        assert f"Policy: **{policy.name}**" in section, name
    assert "Policy: **strict**" in sections["contact_erase"]
    assert "Policy: **fail closed**" in sections["contact_can_receive"]


def test_isolated_hook_skips_the_raising_plugin_and_runs_the_others(two_plugins_host):
    assert two_plugins_host.call("contact_created", contact=None) == [("policy_answerer", "seen")]
    assert ("policy_raiser", "contact_created") in two_plugins_host.reported


def test_fail_closed_hook_counts_a_raising_plugin_as_a_veto(two_plugins_host):
    answers = two_plugins_host.call("contact_can_receive", contact=None, channel="email", purpose="marketing")
    assert ("policy_raiser", False) in answers and ("policy_answerer", True) in answers


def test_strict_hook_lets_the_error_reach_the_caller(two_plugins_host):
    with pytest.raises(RuntimeError, match="erase broke"):
        two_plugins_host.call("contact_erase", contact=None, mode="delete")
    assert ("policy_raiser", "contact_erase") in two_plugins_host.reported


def test_the_host_follows_the_declaration_not_a_list_of_names(two_plugins_host, monkeypatch):
    monkeypatch.setattr(hookspecs.contact_created, "couvee_policy", hookspecs.STRICT, raising=False)
    with pytest.raises(RuntimeError, match="created broke"):
        two_plugins_host.call("contact_created", contact=None)


@pytest.mark.parametrize("option", ["hookwrapper", "wrapper"])
def test_a_wrapper_implementation_is_refused_at_load_naming_plugin_and_hook(tmp_path, option):
    name = f"wrapping_{option}"
    write_plugin(tmp_path, name, f'''
@hookimpl({option}=True)
def contact_updated(contact, changes):
    result = yield
    return result

@hookimpl
def contact_created(contact):
    return "plain"
''')
    host = PluginHost(discover(tmp_path), {name})
    assert not host.is_active(name)
    assert f"contact_updated is implemented with {option}=True" in host.load_errors[name]
    assert host.call("contact_created", contact=None) == []  # none of its hooks stays registered


def test_an_implementation_of_a_firstresult_hook_is_refused(tmp_path, monkeypatch):
    def who_handles(thing):
        """A "who handles this" question the host would not stop at the first answer of."""

    specs = types.ModuleType("firstresult_specs")
    specs.who_handles = hookspecs.hookspec(firstresult=True)(who_handles)
    plain_manager = host_module.new_plugin_manager

    def manager_with_extra_spec():
        manager = plain_manager()
        manager.add_hookspecs(specs)
        return manager

    monkeypatch.setattr(host_module, "new_plugin_manager", manager_with_extra_spec)
    write_plugin(tmp_path, "first_answerer", '''
@hookimpl
def who_handles(thing):
    return "me"
''')
    host = PluginHost(discover(tmp_path), {"first_answerer"})
    assert not host.is_active("first_answerer")
    assert "who_handles is declared with firstresult=True" in host.load_errors["first_answerer"]
