"""Owners: assignment rules, round robin over available reps (fair with
concurrent workers), the "apply rules" job and the ``owner.assign`` action."""
from __future__ import annotations

import collections
import contextlib
import multiprocessing

import pytest
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from core import auth
from core.contacts import create_contact
from core.models import Contact, CustomField, Event, User
from core.queue import get_queue
from plugins.owners import assign_owner
from plugins.owners.models import AssignmentRule, RoundRobinCounter

from .conftest import csrf_of, current_app_of, login

ZONES = ["NORAM", "LATAM", "EMEA", "APAC"]
PASSWORD = "x" * 12


@contextlib.contextmanager
def db(web):
    """An app context with a connection, opened *between* requests."""
    app = current_app_of(web)
    with app.app_context(), app.extensions["couvee"].database_connection():
        yield app


@pytest.fixture
def zone_field(admin):
    with db(admin):
        return CustomField.create(key="geographic_zone", label="Geographic zone", type_id="select", options=ZONES)


@pytest.fixture
def reps(admin):
    """Three sales reps: Alice, Bruno, Chloé (by id)."""
    with db(admin):
        return [auth.create_user(f"{name}@example.com", PASSWORD, role="sales", name=name.title()).id
                for name in ("alice", "bruno", "chloe")]


def make_contacts(web, count, prefix="lead", **raw) -> list[int]:
    with db(web):
        return [create_contact({"email": f"{prefix}{i}@example.com", **raw}, source="test").id for i in range(count)]


def owners_of(web, ids) -> dict[int, int | None]:
    with db(web):
        return {c.id: c.owner_id for c in Contact.select().where(Contact.id.in_(ids))}


def assigned_events(web, contact_id=None) -> list[dict]:
    with db(web):
        query = Event.select().where(Event.kind == "owner_assigned").order_by(Event.id)
        if contact_id is not None:
            query = query.where(Event.contact == contact_id)
        return [e.data for e in query]


def add_rule(admin, field_key, value, owner_id, operator="is", status=302):
    form = admin.get("/admin/assignment").forms["new-rule"]
    form["field_key"] = field_key
    form["operator"] = operator
    form["value"] = value
    form["owner_id"] = str(owner_id)
    return form.submit(status=status)


def button(page, action_end, **hidden):
    """The one-button form posting to a URL ending with ``action_end``."""
    for form in page.forms.values():
        if form.action.endswith(action_end) and all(form[k].value == v for k, v in hidden.items()):
            return form
    raise AssertionError(f"no form posting to …{action_end} with {hidden}")


# --- round robin with two concurrent workers -------------------------------------------------


def _burst_worker(config, barrier, results):
    """One worker process: its own app, started together with the other."""
    from core.app import create_app
    from core.queue import make_worker
    from core.runtime import Runtime

    runtime = Runtime(app=create_app(config))
    barrier.wait(timeout=120)
    worker = make_worker(runtime, ["events"], simple=True)
    worker.work(burst=True, with_scheduler=False)
    results.put(worker.name)


def test_round_robin_spreads_1000_contacts_over_3_reps_with_two_workers(admin, reps, config):
    from core.events import dispatch_events
    from core.queue import enqueue

    ids = make_contacts(admin, 1000)
    with db(admin) as app:  # one drain runs at a time: two workers dispatch at once through batch jobs
        get_queue("events", app.extensions["couvee"].redis).empty()
        created = [e.id for e in Event.select(Event.id).where(Event.kind == "contact_created").order_by(Event.id)]
        for start in range(0, len(created), 50):
            enqueue(dispatch_events, created[start:start + 50], queue="events")
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_burst_worker, args=(config, barrier, results)) for _ in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=600)
        assert process.exitcode == 0
    names = {results.get(timeout=5) for _ in workers}
    with db(admin) as app:
        queue = get_queue("events", app.extensions["couvee"].redis)
        finished = Job.fetch_many(FinishedJobRegistry(queue=queue).get_job_ids(), connection=queue.connection)
    per_worker = collections.Counter(job.worker_name for job in finished if job)
    assert set(per_worker) == names and min(per_worker.values()) >= 5, per_worker  # both really worked

    counts = collections.Counter(owners_of(admin, ids).values())
    assert set(counts) == set(reps)
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    events = assigned_events(admin)
    assert len(events) == 1000 and {e["rule"] for e in events} == {"round robin"}
    assert sorted(e["turn"] for e in events) == list(range(1, 1001))  # no turn taken twice
    with db(admin):
        assert RoundRobinCounter.get().turns == 1000


def test_round_robin_takes_turns_in_order(admin, reps, run_jobs):
    """Turns go round the reps in the order they are taken. Contacts are served
    in the order their events are handled: per contact that is creation order,
    across contacts the event partitions may interleave them."""
    ids = make_contacts(admin, 6)
    run_jobs()
    owners = owners_of(admin, ids)
    with db(admin):
        by_turn = sorted((e.data["turn"], e.contact_id, e.data["owner_id"])
                         for e in Event.select().where(Event.kind == "owner_assigned"))
    assert [turn for turn, _, _ in by_turn] == [1, 2, 3, 4, 5, 6]
    assert [owner for _, _, owner in by_turn] == reps + reps
    assert {contact: owner for _, contact, owner in by_turn} == owners and set(owners) == set(ids)
    first = assigned_events(admin, by_turn[0][1])[0]
    assert first == {"owner_id": reps[0], "owner_email": "alice@example.com", "rule": "round robin", "turn": 1}


# --- rules ------------------------------------------------------------------------------------------


def test_a_zone_rule_wins_over_round_robin(admin, reps, zone_field, run_jobs):
    alice, bruno, chloe = reps
    add_rule(admin, "geographic_zone", "emea", alice).follow()
    emea = make_contacts(admin, 3, "emea", geographic_zone="EMEA")
    others = make_contacts(admin, 3, "noram", geographic_zone="NORAM")
    run_jobs()
    owners = owners_of(admin, emea + others)
    assert {owners[i] for i in emea} == {alice}
    assert sorted(owners[i] for i in others) == sorted(reps)  # round robin for the rest
    data = assigned_events(admin, emea[0])[0]
    assert data["rule"] == "geographic_zone is EMEA" and data["owner_email"] == "alice@example.com"
    assert "rule_id" in data and "turn" not in data


def test_rules_are_tried_in_order_and_can_be_reordered(admin, reps, zone_field, run_jobs):
    alice, bruno, _ = reps
    add_rule(admin, "email", "acme.com.", bruno, operator="contains")
    add_rule(admin, "geographic_zone", "EMEA", alice)
    first = make_contacts(admin, 1, "a", geographic_zone="EMEA")  # lead0@... is not acme
    acme = make_contacts(admin, 1, "x.acme.com.", geographic_zone="EMEA")
    run_jobs()
    assert owners_of(admin, first)[first[0]] == alice
    assert owners_of(admin, acme)[acme[0]] == bruno  # first rule wins

    with db(admin):
        zone_rule = AssignmentRule.get(AssignmentRule.field_key == "geographic_zone")
    button(admin.get("/admin/assignment"), f"/rules/{zone_rule.id}/move", direction="up").submit().follow()
    later = make_contacts(admin, 1, "y.acme.com.", geographic_zone="EMEA")
    run_jobs()
    assert owners_of(admin, later)[later[0]] == alice


def test_a_paused_rule_is_not_applied(admin, reps, zone_field, run_jobs):
    add_rule(admin, "geographic_zone", "APAC", reps[2])
    with db(admin):
        rule = AssignmentRule.get()
    page = button(admin.get("/admin/assignment"), f"/rules/{rule.id}/toggle").submit().follow()
    assert "paused" in page
    ids = make_contacts(admin, 1, geographic_zone="APAC")
    run_jobs()
    assert owners_of(admin, ids)[ids[0]] == reps[0]  # round robin's first turn


def test_a_contact_with_an_owner_keeps_it(admin, reps, run_jobs):
    with db(admin):
        contact = create_contact({"email": "vip@example.com"}, source="test", owner=User.get_by_id(reps[2]))
    run_jobs()
    assert owners_of(admin, [contact.id])[contact.id] == reps[2]
    assert assigned_events(admin) == []


def test_rule_values_are_checked_and_stored_canonically(admin, reps, zone_field):
    with db(admin):
        CustomField.create(key="uses_excel", label="Uses Excel", type_id="boolean")
    page = add_rule(admin, "geographic_zone", "Europe", reps[0], status=400)
    assert '"Europe" is not one of the choices: NORAM, LATAM, EMEA, APAC' in page.html.text
    page = add_rule(admin, "uses_excel", "oui", reps[0]).follow()
    assert "Uses Excel is “Yes”" in page
    token = csrf_of(page)
    page = admin.post("/admin/assignment/rules", {"csrf_token": token, "field_key": "nope", "operator": "is",
                                                  "value": "x", "owner_id": ""}, status=400)
    for message in ("Choose a field.", "Choose an active user as the owner."):
        assert message in page
    page = add_rule(admin, "email", "", reps[0], status=400)
    assert "Enter the value to look for." in page
    with db(admin):
        assert [(r.field_key, r.value) for r in AssignmentRule.select()] == [("uses_excel", "1")]


def test_a_rule_can_be_edited_and_deleted(admin, reps, zone_field):
    add_rule(admin, "geographic_zone", "EMEA", reps[0])
    with db(admin):
        rule = AssignmentRule.get()
    form = admin.get(f"/admin/assignment/rules/{rule.id}/edit").forms["rule-form"]
    form["value"] = "latam"
    form["owner_id"] = str(reps[1])
    form.submit().follow()
    with db(admin):
        rule = AssignmentRule.get()
    assert (rule.value, rule.owner_id) == ("LATAM", reps[1])
    form = admin.get(f"/admin/assignment/rules/{rule.id}/edit").forms["rule-form"]
    form["value"] = ""
    assert "Enter the value to look for." in form.submit(status=400)
    button(admin.get("/admin/assignment"), f"/rules/{rule.id}/delete").submit().follow()
    with db(admin):
        assert AssignmentRule.select().count() == 0


def test_hostile_rule_values_and_names_are_escaped(admin, reps):
    hostile = '<img src=x onerror=alert(1)>'
    with db(admin):
        User.update(name=hostile).where(User.id == reps[0]).execute()
    add_rule(admin, "last_name", hostile, reps[0], operator="contains")
    page = admin.get("/admin/assignment")
    assert hostile not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text


def test_only_admins_manage_assignment(web, admin_user):
    with db(web):
        auth.create_user("mkt@example.com", PASSWORD, role="marketer")
    login(web, "mkt@example.com", PASSWORD)
    assert 'data-menu="assignment"' not in web.get("/admin/")
    web.get("/admin/assignment", status=403)


# --- availability and the empty pool --------------------------------------------------------------


def test_unavailable_reps_are_skipped(admin, reps, zone_field, run_jobs):
    alice, bruno, chloe = reps
    add_rule(admin, "geographic_zone", "EMEA", bruno)
    page = button(admin.get("/admin/assignment"), f"/reps/{bruno}/availability").submit().follow()
    assert "Bruno is now unavailable for new contacts." in page
    ids = make_contacts(admin, 4, geographic_zone="EMEA")
    run_jobs()
    owners = owners_of(admin, ids)
    assert bruno not in owners.values()  # neither by his rule nor by round robin
    assert collections.Counter(owners.values()) == {alice: 2, chloe: 2}

    button(admin.get("/admin/assignment"), f"/reps/{bruno}/availability").submit().follow()
    late = make_contacts(admin, 1, "late", geographic_zone="EMEA")
    run_jobs()
    assert owners_of(admin, late)[late[0]] == bruno


def test_the_round_robin_roles_can_be_changed(admin, reps, run_jobs):
    with db(admin):
        marketer = auth.create_user("mkt@example.com", PASSWORD, role="marketer").id
    form = admin.get("/admin/assignment").forms["pool-settings"]
    form.get("roles", index=1).checked = True  # marketer
    form.get("roles", index=2).checked = False  # sales
    form.submit().follow()
    ids = make_contacts(admin, 2)
    run_jobs()
    assert set(owners_of(admin, ids).values()) == {marketer}


def test_without_reps_a_contact_stays_unassigned_and_is_reported(admin, wsgi, run_jobs):
    ids = make_contacts(admin, 1)
    run_jobs()
    assert owners_of(admin, ids)[ids[0]] is None
    assert assigned_events(admin) == []
    with db(admin) as app:
        assert FailedJobRegistry(queue=get_queue("events", app.extensions["couvee"].redis)).count == 0
    page = admin.get("/admin/assignment")
    assert "No rep is available" in page
    report = page.html.find(id="last-unassigned").text
    assert f"Contact #{ids[0]} was left without owner" in report and "no rep is available" in report


def test_automatic_assignment_can_be_switched_off(admin, reps, run_jobs):
    form = admin.get("/admin/assignment").forms["pool-settings"]
    form["assign_on_create"] = False
    form.submit().follow()
    ids = make_contacts(admin, 2)
    run_jobs()
    assert set(owners_of(admin, ids).values()) == {None}


# --- on demand --------------------------------------------------------------------------------------


def test_apply_rules_to_contacts_without_owner_runs_as_a_job(admin, zone_field, run_jobs):
    emea = make_contacts(admin, 2, "emea", geographic_zone="EMEA")
    others = make_contacts(admin, 3, "other", geographic_zone="APAC")
    run_jobs()  # no rep yet: all stay without owner
    assert set(owners_of(admin, emea + others).values()) == {None}
    with db(admin):
        alice = auth.create_user("alice@example.com", PASSWORD, role="sales").id
        bruno = auth.create_user("bruno@example.com", PASSWORD, role="sales").id
    add_rule(admin, "geographic_zone", "EMEA", alice)

    page = admin.get("/admin/assignment")
    assert "Contacts without owner: 5" in page
    page = page.forms["apply-rules"].submit().follow()
    assert "in the background" in page and "A run is queued" in page
    assert set(owners_of(admin, emea + others).values()) == {None}  # not in the request
    run_jobs()
    owners = owners_of(admin, emea + others)
    assert {owners[i] for i in emea} == {alice}
    assert [owners[i] for i in others] == [alice, bruno, alice]  # round robin, in contact order
    page = admin.get("/admin/assignment")
    assert "Contacts without owner: 0" in page
    assert "2 by rule, 3 by round robin, 0 left without owner" in page.html.find(id="last-run").text


def test_apply_rules_only_leaves_unmatched_contacts_alone(admin, reps, zone_field, run_jobs):
    form = admin.get("/admin/assignment").forms["pool-settings"]
    form["assign_on_create"] = False
    form.submit()
    emea = make_contacts(admin, 1, "emea", geographic_zone="EMEA")
    other = make_contacts(admin, 1, "other", geographic_zone="APAC")
    add_rule(admin, "geographic_zone", "EMEA", reps[1])
    form = admin.get("/admin/assignment").forms["apply-rules"]
    form["round_robin"] = False
    form.submit()
    run_jobs()
    assert owners_of(admin, emea + other) == {emea[0]: reps[1], other[0]: None}
    assert "1 by rule, 0 by round robin, 1 left without owner (no rule matched)" in \
        admin.get("/admin/assignment").html.find(id="last-run").text


# --- the workflow action ------------------------------------------------------------------------------


def test_the_owner_assign_action(admin, reps, run_jobs):
    alice, bruno, chloe = reps
    with db(admin) as app:
        action = app.extensions["couvee"].registries.actions["owner.assign"]
        assert [s.key for s in action.settings] == ["mode", "user_id"]
        contact = create_contact({"email": "ada@example.com"}, source="test")
        first = action.run(contact, {"mode": "user", "user_id": str(chloe)}, {"key": "run-1"})
        again = action.run(contact, {"mode": "user", "user_id": chloe}, {"key": "run-1"})
        by_rules = action.run(contact, {"mode": "rules"}, {"key": "run-2"})
        assert Contact.get_by_id(contact.id).owner_id == chloe
        with pytest.raises(ValueError, match="unknown mode 'random'"):
            action.run(contact, {"mode": "random"}, {"key": "run-3"})
        with pytest.raises(ValueError, match="needs the id of a user"):
            action.run(contact, {"mode": "user"}, {"key": "run-4"})
        with pytest.raises(ValueError, match="does not exist or is deactivated"):
            action.run(contact, {"mode": "user", "user_id": 9999}, {"key": "run-5"})
        other = create_contact({"email": "bob@example.com"}, source="test")
        round_robin = action.run(other, {"mode": "round_robin"}, {"key": "run-6"})
    assert first == f"contact {contact.id} assigned to chloe@example.com (chosen user)"
    assert again == by_rules == f"contact {contact.id} already has an owner"
    assert round_robin == f"contact {other.id} assigned to alice@example.com (round robin)"
    assert [e["owner_email"] for e in assigned_events(admin, contact.id)] == ["chloe@example.com"]


def test_assign_owner_reports_instead_of_raising(admin):
    with db(admin):
        contact = create_contact({"email": "ada@example.com"}, source="test")
        result = assign_owner(contact)
        gone = assign_owner(99999)
    assert not result.assigned and "no rep is available" in result.problem
    assert gone.problem == "the contact no longer exists"
