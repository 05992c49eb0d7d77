"""Queues are core's (events, default, low) or declared by a plugin in its
manifest (``[queues.NAME]``): workers, the dashboard and /metrics take them
from there, and core names no plugin's queue (issue 18)."""
from __future__ import annotations

import pytest

from core.plugins import lifecycle
from core.plugins.discovery import DeclaredQueue, ManifestError, discover, parse_manifest
from core.queue import SKIPPED, enqueue, get_queue, make_worker, queue_names

from .test_i18n import ENGLISH, FRENCH
from .test_plugin_manifest_translations import BASE


def test_a_manifest_declares_its_queues_with_a_label_and_translations():
    values = parse_manifest(BASE + '[queues.hello_jobs]\nlabel = "Greetings"\nsends = true\n\n'
                                   '[translations.fr]\nqueues = { hello_jobs = "Salutations" }\n')
    assert values["queues"] == [DeclaredQueue("hello_jobs", "Greetings", True)]
    assert values["translations"] == {"fr": {"queues": {"hello_jobs": "Salutations"}}}


@pytest.mark.parametrize("table", [
    '[queues.default]\nlabel = "Mine"\n',  # a core queue
    '[queues.Hello]\nlabel = "Mine"\n',  # not a name
    '[queues.hello_jobs]\nsends = true\n',  # no label
    '[queues.hello_jobs]\nlabel = "Mine"\nsends = "yes"\n',
    '[queues.hello_jobs]\nlabel = "Mine"\npriority = 1\n',
    'queues = ["hello_jobs"]\n',
])
def test_a_malformed_queue_declaration_is_refused_with_its_reason(table):
    with pytest.raises(ManifestError, match="queue"):
        parse_manifest(BASE + table)


def test_a_queue_name_taken_by_an_earlier_plugin_makes_the_later_one_unloadable(tmp_path):
    copy = tmp_path / "mailer"
    copy.mkdir()
    (copy / "__init__.py").write_text("")
    (copy / "plugin.toml").write_text(BASE.replace('"hello"', '"mailer"') + '[queues.email]\nlabel = "Mine"\n')
    found = discover(tmp_path)
    assert found["email"].loadable
    assert found["mailer"].problems == ["declares the queue email, already the queue of email"]
    assert queue_names(found).count("email") == 1


def test_workers_serve_core_queues_and_the_plugins_queues(ctx, wsgi):
    names = queue_names()
    assert names[:2] == ("events", "default") and names[-1] == "low"
    assert {"email", "import"} <= set(names)
    assert get_queue("import").name == "import"
    with pytest.raises(ValueError, match="unknown queue 'nowhere'"):
        get_queue("nowhere")
    worker = make_worker(wsgi.runtime, simple=True)
    assert tuple(queue.name for queue in worker.queues) == names


def test_the_dashboard_says_what_a_plugin_queue_carries_in_the_readers_language(admin, ctx):
    from plugins.imports.runner import run_import

    enqueue(run_import, 0, queue="import")
    assert "Imports: 1 job waiting" in admin.get("/admin/", headers=ENGLISH).text
    enqueue(run_import, 0, queue="email")
    assert "Emails à envoyer : 1 tâche en attente" in admin.get("/admin/", headers=FRENCH).text


def test_a_job_queued_before_its_plugin_was_deactivated_is_taken_and_skipped(ctx, wsgi):
    """An upgrade or a deactivation must not strand jobs on a plugin's queue."""
    from plugins.imports.runner import run_import

    job = enqueue(run_import, 0, queue="import")
    lifecycle.deactivate(wsgi.runtime.state, "imports")
    assert "import" in queue_names()  # still served: the plugin is discovered
    make_worker(wsgi.runtime, simple=True).work(burst=True, with_scheduler=False)
    assert get_queue("import").count == 0
    job.refresh()
    assert job.return_value() == SKIPPED



def test_couvee_worker_refuses_a_queue_nobody_declared_and_lists_the_others(couvee_cli):
    result = couvee_cli("worker", "--queue", "nowhere", "--burst", "--simple")
    assert result.exit_code != 0
    assert "unknown queue(s): nowhere; use events, default," in result.output
    assert "import" in result.output and result.output.strip().endswith("low")


def test_couvee_worker_serves_a_plugins_queue_by_name(couvee_cli, ctx):
    from plugins.imports.runner import run_import

    job = enqueue(run_import, 0, queue="import")
    result = couvee_cli("worker", "--queue", "import", "--burst", "--simple")
    assert result.exit_code == 0, result.output
    assert get_queue("import").count == 0
    job.refresh()
    assert job.return_value() == "not queued"  # run (no import job 0), not skipped
