"""The dashboard a new user lands on: a getting-started checklist that ticks
itself from the real state, and the background work told in words (issue 15
item 18: it showed a raw queue table and no checklist)."""
from __future__ import annotations

import datetime as dt
import io

import time_machine

from plugins.imports import runner
from core.models import CustomField
from core.plugins import lifecycle
from core.queue import enqueue

from .forms_helpers import make_form, set_setting
from .tracking_helpers import make_site


def steps(page) -> dict[str, tuple[bool, str]]:
    """label -> (done, link) of the checklist's items; {} without a checklist."""
    section = page.html.find(id="getting-started")
    if section is None:
        return {}
    return {item.a.get_text(strip=True): ("done" in item["class"], item.a["href"])
            for item in section.find_all("li")}


def test_hook_register_setup_steps(admin, wsgi, ctx):
    """Core's modules and the plugins each contribute their steps; each ticks
    from real state, and the checklist goes away once all are done."""
    page = admin.get("/admin/")
    assert steps(page) == {
        "Set the sender of your emails": (False, "/admin/settings/email"),        # email plugin
        "Describe your contacts with fields": (False, "/admin/fields"),           # core fields
        "Import your contacts": (False, "/admin/imports"),                        # core imports
        "Track visits on your website": (False, "/admin/tracking/sites"),         # tracking plugin
        "Publish your first form": (False, "/admin/forms"),                       # forms plugin
    }
    assert "0 of 5 done" in page.html.find(id="getting-started").h2.text
    for link in {href for _, href in steps(page).values()}:
        assert admin.get(link).status_int == 200, link

    set_setting("email", "from_email", "news@example.com")
    CustomField.create(key="company", label="Company", type_id="text")
    make_form(publish=False)  # a draft does not count
    page = admin.get("/admin/")
    done = {label for label, (is_done, _) in steps(page).items() if is_done}
    assert done == {"Set the sender of your emails", "Describe your contacts with fields"}
    assert "2 of 5 done" in page.text

    job = runner.new_job(io.BytesIO(b"email\nada@example.com\n"), "contacts.csv")
    runner.execute(job)
    make_site(wsgi.app)
    make_form(name="Published")
    assert steps(admin.get("/admin/")) == {}


def test_a_deactivated_plugin_takes_its_step_away(admin, wsgi, ctx):
    lifecycle.deactivate(wsgi.app.extensions["couvee"], "forms")
    wsgi.runtime.refresh(force_check=True)
    labels = set(steps(admin.get("/admin/")))
    assert "Publish your first form" not in labels
    assert "Import your contacts" in labels


def test_steps_follow_the_roles(web, ctx, admin_user):
    from core import auth

    from .conftest import login

    auth.create_user("marketer@example.com", "long password 1", role="marketer")
    login(web, "marketer@example.com", "long password 1")
    labels = set(steps(web.get("/admin/")))
    assert "Set the sender of your emails" not in labels  # only administrators reach the email settings
    assert "Publish your first form" in labels


def test_background_work_in_words(admin, ctx):
    page = admin.get("/admin/")
    section = page.html.find(id="background-work")
    assert "No worker is running" in section.text
    assert section.find("table") is None
    assert section.find("ul") is None

    start = dt.datetime.now(dt.timezone.utc)
    with time_machine.travel(start, tick=False):
        enqueue(print, "first", queue="email")
    with time_machine.travel(start + dt.timedelta(minutes=4), tick=False):
        enqueue(print, "second", queue="email")
        enqueue(print, "later", queue="email", delay=dt.timedelta(hours=1))
    with time_machine.travel(start + dt.timedelta(minutes=7, seconds=30), tick=False):
        section = admin.get("/admin/").html.find(id="background-work")
    [line] = section.select("li[data-queue]")
    assert line.get_text(strip=True) == ("Emails to send: 2 jobs waiting, the oldest for 7 minutes; "
                                         "1 job scheduled for later.")


def test_a_plugins_steps_and_a_failing_check(admin, wsgi, instance, ctx):
    from .conftest import install_fixture_plugin

    install_fixture_plugin(instance, "couvee_setup_steps")
    wsgi.runtime.state.stale = True
    wsgi.runtime.refresh()
    lifecycle.activate(wsgi.app.extensions["couvee"], "couvee_setup_steps")
    wsgi.runtime.refresh()

    page = admin.get("/admin/")
    found = steps(page)
    assert found["Connect the fixture CRM"] == (True, "/admin/plugins")
    assert found["Run a first sync"] == (False, "/admin/plugins")  # its check raised: not done
    errors = admin.get("/admin/plugins").html.find(id="plugin-couvee_setup_steps").text  # reported, not a 500
    assert "register_setup_steps" in errors and "the CRM is unreachable" in errors
