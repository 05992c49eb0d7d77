"""Plugins declare their own hooks (issue 18): a plugin's ``hookspecs`` module
is added to the plugin manager while the plugin is loaded. The fixture
``couvee_announcer`` declares ``announcer_greetings``; ``couvee_listener``
implements it without requiring the announcer."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import core
from core import hookspecs
from core.plugins import lifecycle
from core.plugins.discovery import discover
from core.plugins.host import PluginHost, UnknownHook

from .conftest import FIXTURE_PLUGINS, install_fixture_plugin

BOTH = {"couvee_announcer", "couvee_listener"}
GREETING = ("couvee_listener", "Hello Ada from the listener")


def plugins_folder(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copytree(FIXTURE_PLUGINS / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def write_plugin(folder: Path, name: str, source: str, specs: str | None = None) -> None:
    package = folder / name
    package.mkdir()
    (package / "plugin.toml").write_text(
        f'name = "{name}"\ntitle = "{name}"\nversion = "1.0"\ndescription = "d"\n'
        'author = "a"\nrequires_core = ">=0.1"\n'
    )
    (package / "__init__.py").write_text("from core import hookimpl\n\n" + source)
    if specs is not None:
        (package / "hookspecs.py").write_text("from core import hookspec\n\n" + specs)


def host_of(folder: Path, enabled: set[str]) -> PluginHost:
    reported = []
    host = PluginHost(discover(folder), enabled, error_sink=lambda *error: reported.append(error))
    host.reported = reported
    return host


def test_core_exposes_the_spec_marker_and_keeps_one_impl_marker():
    assert core.hookspec is hookspecs.hookspec and core.hookimpl is hookspecs.hookimpl
    assert core.STRICT is hookspecs.STRICT and core.policy is hookspecs.policy


def test_a_plugin_hook_works_when_its_declarer_and_implementer_are_active(tmp_path):
    host = host_of(plugins_folder(tmp_path, *BOTH), BOTH)
    assert host.is_active("couvee_announcer") and host.is_active("couvee_listener"), host.load_errors
    assert host.call("announcer_greetings", name="Ada") == [GREETING]
    assert host.hook_declarers["announcer_greetings"] == "couvee_announcer"


def test_with_the_declaring_plugin_off_calling_its_hook_returns_nothing(tmp_path):
    host = host_of(plugins_folder(tmp_path, *BOTH), {"couvee_listener"})
    assert host.is_active("couvee_listener") and not host.load_errors  # the waiting implementation is accepted
    assert host.call("announcer_greetings", name="Ada") == []
    assert host.results("announcer_greetings", name="Ada") == []
    assert not host.reported
    assert not getattr(host.pm.hook, "announcer_greetings").has_spec()  # its spec is not there


def test_calling_a_hook_no_loaded_plugin_declares_returns_nothing(tmp_path):
    host = host_of(plugins_folder(tmp_path, *BOTH), set())
    assert host.call("announcer_greetings", name="Ada") == []


def test_calling_a_hook_no_installed_plugin_declares_is_a_mistake(tmp_path):
    """A misspelt hook name fails loudly instead of quietly answering nothing."""
    host = host_of(plugins_folder(tmp_path, *BOTH), BOTH)
    with pytest.raises(UnknownHook, match="announcer_greeting"):
        host.call("announcer_greeting", name="Ada")


def test_a_hook_nobody_declares_is_still_refused_unless_marked_optional(tmp_path):
    write_plugin(tmp_path, "guesser", '''
@hookimpl
def announcer_greeting(name):
    return "typo"
''')
    write_plugin(tmp_path, "hopeful", '''
@hookimpl(optionalhook=True)
def someone_elses_hook(name):
    return "maybe"
''')
    host = host_of(plugins_folder(tmp_path, *BOTH), {"guesser", "hopeful", *BOTH})
    assert not host.is_active("guesser")
    assert "no plugin declares 'announcer_greeting'" in host.load_errors["guesser"]
    assert host.is_active("hopeful")


@pytest.mark.parametrize("implementer", ["aaa_wrong", "zzz_wrong"])  # loaded before / after the declarer
def test_an_implementation_with_a_wrong_signature_is_its_plugins_error(tmp_path, implementer):
    write_plugin(tmp_path, implementer, '''
@hookimpl
def announcer_greetings(name, colour):
    return "wrong"
''')
    host = host_of(plugins_folder(tmp_path, *BOTH), {implementer, *BOTH})
    assert not host.is_active(implementer)
    assert "invalid hook implementation" in host.load_errors[implementer]
    assert "announcer_greetings" in host.load_errors[implementer] and "colour" in host.load_errors[implementer]
    assert host.is_active("couvee_announcer") and host.is_active("couvee_listener")
    assert host.call("announcer_greetings", name="Ada") == [GREETING]


def test_a_plugin_declaring_a_firstresult_hook_is_refused_and_its_hook_not_added(tmp_path):
    write_plugin(tmp_path, "first_asker", "", specs='''
@hookspec(firstresult=True)
def who_answers(thing):
    """The first answer only."""
''')
    host = host_of(tmp_path, {"first_asker"})
    assert not host.is_active("first_asker")
    assert "who_answers is declared with firstresult=True" in host.load_errors["first_asker"]
    assert host.call("who_answers", thing=1) == []


def test_a_plugin_cannot_redeclare_a_core_hook(tmp_path):
    write_plugin(tmp_path, "usurper", "", specs='''
@hookspec
def contact_created(contact):
    """Mine now."""
''')
    host = host_of(tmp_path, {"usurper"})
    assert not host.is_active("usurper")
    assert "contact_created is already declared" in host.load_errors["usurper"]


def test_a_plugin_hooks_policy_is_declared_beside_its_spec(tmp_path):
    write_plugin(tmp_path, "vetoer", "", specs='''
from core import FAIL_CLOSED, policy

@hookspec
@policy(FAIL_CLOSED)
def vetoer_allows(thing):
    """May it happen?"""
''')
    write_plugin(tmp_path, "breaker", '''
@hookimpl
def vetoer_allows(thing):
    raise RuntimeError("broken")
''')
    host = host_of(tmp_path, {"vetoer", "breaker"})
    assert host.call("vetoer_allows", thing=1) == [("breaker", False)]
    assert [error[:2] for error in host.reported] == [("breaker", "vetoer_allows")]


# -- at runtime: enabling and disabling rebuilds every process's manager ------


@pytest.fixture
def announcer_and_listener(instance, wsgi, ctx):
    for name in sorted(BOTH):
        install_fixture_plugin(instance, name)
    wsgi.runtime.state.stale = True
    wsgi.runtime.refresh()
    lifecycle.activate(wsgi.app.extensions["couvee"], "couvee_listener")  # alone first: its hook waits
    lifecycle.activate(wsgi.app.extensions["couvee"], "couvee_announcer")
    wsgi.runtime.refresh()
    return wsgi


def test_the_hook_comes_and_goes_with_its_plugin(announcer_and_listener, admin, couvee_cli, run_jobs):
    wsgi = announcer_and_listener
    assert admin.get("/admin/announcer/").text == "Greetings: Hello Ada from the listener"

    result = couvee_cli("plugins", "disable", "couvee_announcer")
    assert result.exit_code == 0, result.output
    admin.get("/admin/")  # the web process rebuilds its app
    state = wsgi.app.extensions["couvee"]
    assert state.host.is_active("couvee_listener") and not state.host.is_active("couvee_announcer")
    assert state.hooks.call("announcer_greetings", name="Ada") == []
    assert not state.host.load_errors and not state.plugin_errors()
    assert admin.get("/admin/announcer/", expect_errors=True).status_int == 404
    worker = run_jobs()
    assert worker.runtime.app.extensions["couvee"].hooks.call("announcer_greetings", name="Ada") == []

    result = couvee_cli("plugins", "enable", "couvee_announcer")
    assert result.exit_code == 0, result.output
    assert admin.get("/admin/announcer/").text == "Greetings: Hello Ada from the listener"
    worker = run_jobs()
    assert worker.runtime.app.extensions["couvee"].hooks.call("announcer_greetings", name="Ada") == [GREETING]


# -- the tracking plugin's hooks ----------------------------------------------


def test_the_tracking_hooks_are_declared_by_the_tracking_plugin(ctx):
    state = ctx.extensions["couvee"]
    for name in ("tracking_script_parts", "tracking_site_config", "tracking_visitor_identified"):
        assert not hasattr(hookspecs, name)
        assert state.host.hook_declarers[name] == "tracking"
        assert getattr(state.host.pm.hook, name).spec.namespace.__name__ == "plugins.tracking.hookspecs"
    assert hasattr(hookspecs, "metrics_gauges")  # core's /metrics page keeps its hook


def test_without_tracking_its_hooks_answer_nothing_and_gdpr_and_forms_still_load(admin, wsgi, couvee_cli,
                                                                                   run_jobs):
    from .forms_helpers import later, make_form

    assert couvee_cli("plugins", "disable", "tracking").exit_code == 0
    admin.get("/admin/")
    state = wsgi.app.extensions["couvee"]
    assert state.host.is_active("gdpr") and state.host.is_active("forms")
    assert not state.host.load_errors
    assert state.hooks.call("tracking_script_parts") == []  # gdpr's banner part waits, not called
    with wsgi.app.app_context(), state.database_connection():
        form = make_form("Newsletter", origins=["https://www.example.com"])
    token = admin.get(f"/f/{form.key}/form.json", headers={"Origin": "https://www.example.com"}).json["token"]
    with later(30):
        admin.post(f"/f/{form.key}/submit", {"cv_token": token, "email": "ada@example.com",
                                             "cv_visitor": "formvisitor0000001"},
                   headers={"Origin": "https://www.example.com"})
    run_jobs()  # forms calls tracking_visitor_identified: nobody answers, nothing fails
    with wsgi.app.app_context(), state.database_connection():
        from plugins.forms.models import Submission

        assert Submission.select().count() == 1
        assert core.models.Contact.select().where(core.models.Contact.email == "ada@example.com").exists()
    assert not state.plugin_errors()
