"""CSV import and export of contacts: a marketer brings their CRM's file in
(whatever Excel made of it), checks a dozen rows, imports the rest, re-runs it
without creating duplicates, gets a report of the bad lines, and exports a
search back to a spreadsheet safely."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from core import auth, csv_cell
from core.contacts import get_values, tags_of
from plugins.imports import runner
from plugins.imports.mapping import create_field, normalize_header, suggest_mapping
from plugins.imports.models import ImportJob, ImportRowError
from plugins.imports.sniff import detect_delimiter, guess_header
from core.models import Contact, CustomField, Event, SettingValue

from .conftest import csrf_of

ZONES = ["NORAM", "LATAM", "EMEA", "APAC"]

# the source article's example fields, with its French labels
ARTICLE_FIELDS = [
    ("revenue", "CA de l'entreprise", "text", []),
    ("zone", "Zone d'activité géographique", "select", ZONES),
    ("uses_excel", "Utilise Excel pour gérer ses tâches ?", "boolean", []),
    ("founded", "Date de création de l'entreprise", "date", []),
    ("spec", "Cahier des charges", "file", []),
]

FRENCH_HEADER = ("Prénom;Nom;Adresse e-mail;Société;CA de l'entreprise;Zone d'activité géographique;"
                 "Utilise Excel pour gérer ses tâches ?;Date de création de l'entreprise;Propriétaire du contact")


@pytest.fixture
def article_fields(ctx):
    return {key: CustomField.create(key=key, label=label, type_id=type_id, options=options, position=i)
            for i, (key, label, type_id, options) in enumerate(ARTICLE_FIELDS)}


@pytest.fixture
def rep(ctx):
    return auth.create_user("vendeuse@example.com", "long password 1", role="sales", name="Nadia")


def upload(data: bytes | str, name: str = "contacts.csv", **settings) -> ImportJob:
    """Upload a file like the wizard does, then apply settings:
    ``targets={"Header": "target"}`` and ImportJob attributes."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    job = runner.new_job(io.BytesIO(data), name)
    targets = settings.pop("targets", {})
    for column in job.mapping:
        if column["header"] in targets:
            column["target"] = targets[column["header"]]
    job.mapping = list(job.mapping)
    for key, value in settings.items():
        setattr(job, key, value)
    job.save()
    return job


def run(job: ImportJob) -> ImportJob:
    """Run an import in this process, through the code the RQ job runs;
    every row read is accounted for exactly once in the summary."""
    runner.execute(job)
    job = ImportJob.get_by_id(job.id)
    outcomes = job.created + job.updated + job.unchanged + job.skipped + job.duplicates + job.errors
    assert outcomes == job.rows_done == job.rows_total, job.progress()
    return job


def contact(email: str) -> Contact:
    return Contact.get(Contact.email == email)


def reported(job: ImportJob) -> list[tuple[int, str, str]]:
    return [(r.line, r.kind, r.reason) for r in
            ImportRowError.select().where(ImportRowError.job == job.id).order_by(ImportRowError.line)]


# --- the source article's file: French Excel export ------------------------------------


def test_french_excel_file_in_windows_1252_with_semicolons_and_a_quoted_newline(article_fields, rep):
    text = (FRENCH_HEADER + "\r\n"
            'Élodie;Bérard;Elodie.Berard@Exemple.FR;"Crêperie ""Chez Loïc""\r\nSaint-Malo";1,2 M€;EMEA;oui;'
            "15/03/2009;Vendeuse@example.com\r\n"
            "Paul;Dupont;paul.dupont@exemple.fr;Dupont & Fils;850 k€;noram;non;2015-06-01;\r\n")
    job = upload(text.encode("cp1252"), "export-crm.csv")

    assert (job.encoding, job.delimiter, job.has_header) == ("cp1252", ";", True)
    assert [c["target"] for c in job.mapping] == [
        "first_name", "last_name", "email", "new:text", "field:revenue", "field:zone", "field:uses_excel",
        "field:founded", "owner"]
    job.mapping[3]["target"] = f"field:{create_field('Société', 'text').key}"
    job.mapping = list(job.mapping)
    job.save()

    job = run(job)
    assert (job.status, job.created, job.errors, job.warnings) == ("done", 2, 0, 0)
    elodie = contact("elodie.berard@exemple.fr")
    assert (elodie.first_name, elodie.last_name, elodie.owner_id) == ("Élodie", "Bérard", rep.id)
    assert get_values(elodie) == {"societe": 'Crêperie "Chez Loïc"\r\nSaint-Malo', "revenue": "1,2 M€",
                                  "zone": "EMEA", "uses_excel": "1", "founded": "2009-03-15"}
    paul = contact("paul.dupont@exemple.fr")
    assert get_values(paul)["zone"] == "NORAM" and get_values(paul)["uses_excel"] == "0"
    assert paul.owner_id is None


def test_utf8_file_with_a_byte_order_mark_and_commas(ctx):
    job = upload("\ufeffE-mail,Prénom,Nom\r\nana@exemple.es,Ana,López\r\n".encode("utf-8"))
    assert job.encoding == "utf-8-sig"
    assert job.mapping[0] == {"header": "E-mail", "target": "email"}
    job = run(job)
    assert job.created == 1 and contact("ana@exemple.es").last_name == "López"


def test_file_without_header_line(ctx):
    job = upload("Dupont;jean@exemple.fr;Jean\nMartin;marie@exemple.fr;Marie\n")
    assert job.has_header is False
    assert job.headers == ["Column 1", "Column 2", "Column 3"]
    assert [c["target"] for c in job.mapping] == ["ignore", "email", "ignore"]
    assert run(job).created == 2


def test_latin1_file_with_bytes_windows_1252_does_not_define(ctx):
    job = upload(b"email,nom\na@exemple.fr,Ren\xe9\x81\n")
    assert job.encoding == "iso-8859-1"
    assert run(job).created == 1 and contact("a@exemple.fr").last_name == "René\x81"


def test_tab_separated_utf16_file_from_excel_unicode_text(ctx):
    job = upload("Courriel\tPrénom\r\nchloe@exemple.fr\tChloé\r\n".encode("utf-16"))
    assert (job.encoding, job.delimiter) == ("utf-16", "\t")
    assert run(job).created == 1 and contact("chloe@exemple.fr").first_name == "Chloé"


@pytest.mark.parametrize("sample, expected", [
    ("nom;ca;email\nDupont;12,5;a@x.fr\nMartin;3,25;b@x.fr\n", ";"),  # decimal commas do not fool it
    ("email,notes\na@x.fr,\"un; deux; trois\"\nb@x.fr,rien\n", ","),
    ("email\ta\tb\nx@y.fr\t1\t2\n", "\t"),
    ("email\na@x.fr\nb@x.fr\n", ","),  # a single column
    ('email;bio\na@x.fr;"ligne 1\nligne 2; suite"\nb@x.fr;ok\n', ";"),  # quoted newline
])
def test_separator_detection(sample, expected):
    assert detect_delimiter(sample) == expected


def test_header_detection():
    assert guess_header([["Email", "Nom"], ["a@x.fr", "Dupont"]]) is True
    assert guess_header([["a@x.fr", "Dupont"], ["b@x.fr", "Martin"]]) is False


def test_french_and_english_headers_are_recognised_ignoring_accents_and_case(ctx):
    fields = [CustomField(key="zone", label="Zone d'activité géographique", type_id="select")]
    headers = ["PRÉNOM", "nom", "Adresse e-mail", "Propriétaire du contact", "Étiquettes", "zone d'activite geographique",
               "Téléphone", "Date de création", "Whatever", "Last Name", "Courriel"]
    columns = [[], [], [], [], [], [], ["01 02 03 04 05"], ["01/02/2003"], [], [], []]
    assert suggest_mapping(headers, fields, columns) == [
        "first_name", "last_name", "email", "owner", "tags", "field:zone", "new:text", "ignore", "ignore",
        "ignore",  # "Last Name" comes after "nom": one column per native field
        "ignore",  # a second email column
    ]
    assert normalize_header(" Adresse  E-MAIL ") == "adresse e mail"


# --- bad rows never stop an import ----------------------------------------------------------


BROKEN = (
    "email,prénom,zone,date de création de l'entreprise\n"      # line 1
    "ok1@exemple.fr,Ana,EMEA,2001-02-03\n"                      # 2
    "not-an-email,Bob,EMEA,\n"                                  # 3
    'ok2@exemple.fr,"Chloé\nla seconde",apac,\n'                # 4-5: quoted newline
    "ok3@exemple.fr,Dan,Mars,\n"                                # 6: unknown option
    "ok4@exemple.fr,Eve,LATAM,31/02/2020\n"                     # 7: impossible date
    "ok5@exemple.fr,Fred,EMEA,,oops,extra\n"                    # 8: shifted columns
    "\n"                                                        # 9: blank
    ",Gus,EMEA,\n"                                              # 10: no email
    "ok6@exemple.fr,Hugo,NORAM,01/12/1999\n"                    # 11
)


def test_broken_rows_are_reported_with_their_line_and_the_good_rows_imported(article_fields, admin):
    job = upload(BROKEN, "broken.csv", targets={"date de création de l'entreprise": "field:founded"})
    job = run(job)
    assert (job.created, job.errors, job.rows_done, job.rows_total) == (3, 5, 8, 8)
    assert {c.email for c in Contact.select()} == {"ok1@exemple.fr", "ok2@exemple.fr", "ok6@exemple.fr"}
    assert contact("ok2@exemple.fr").first_name == "Chloé\nla seconde"
    lines = reported(job)
    assert [line for line, _, _ in lines] == [3, 6, 7, 8, 10]
    assert all(kind == "error" for _, kind, _ in lines)
    reasons = dict((line, reason) for line, _, reason in lines)
    assert "'not-an-email' is not a valid email address" in reasons[3]
    assert '"Mars" is not one of the choices: NORAM, LATAM, EMEA, APAC' in reasons[6]
    assert '"31/02/2020" is not a valid calendar date' in reasons[7]
    assert "6 values but the file has 4 columns" in reasons[8]
    assert "no email address" in reasons[10]

    report = admin.get(f"/admin/imports/{job.id}/report.csv")
    assert report.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(report.text.lstrip("\ufeff"))))
    assert rows[0] == ["line", "kind", "reason", "email", "prénom", "zone", "date de création de l'entreprise"]
    assert [row[0] for row in rows[1:]] == ["3", "6", "7", "8", "10"]
    assert rows[2][3:] == ["ok3@exemple.fr", "Dan", "Mars", ""]


# --- duplicates, policies, tests and re-runs ------------------------------------------------


@pytest.mark.parametrize("policy, expected_name, expected_zone", [("update", "Anita", "APAC"), ("fill", "Ana", "EMEA")])
def test_rows_with_the_same_email_are_merged(article_fields, monkeypatch, policy, expected_name, expected_zone):
    monkeypatch.setattr(runner, "BATCH_SIZE", 2)  # duplicates in the same batch and in later ones
    text = ("email,prénom,zone,CA de l'entreprise\n"
            "ana@exemple.es,Ana,EMEA,\n"
            "bob@exemple.fr,Bob,,\n"
            "ANA@Exemple.es ,Anita,APAC,\n"
            "ana@exemple.es,,,3 M€\n"
            "ana@exemple.es,Annie,LATAM,\n")
    job = run(upload(text, policy=policy))
    assert (job.created, job.duplicates, job.rows_done) == (2, 3, 5)
    ana = contact("ana@exemple.es")
    values = get_values(ana)
    if policy == "update":  # later rows override
        assert (ana.first_name, values["zone"]) == ("Annie", "LATAM")
    else:  # later rows only fill what is empty
        assert (ana.first_name, values["zone"]) == (expected_name, expected_zone)
    assert values["revenue"] == "3 M€"
    assert Contact.select().count() == 2


@pytest.mark.parametrize("policy", ["update", "skip", "fill"])
def test_duplicate_policies_for_existing_contacts(article_fields, policy):
    from core.contacts import create_contact

    jean = create_contact({"email": "jean@exemple.fr", "first_name": "Jean", "zone": "EMEA"}, source="admin")
    text = "email,prénom,nom,zone,CA de l'entreprise\njean@exemple.fr,Jeannot,Valjean,APAC,2 M€\nnew@exemple.fr,Nou,,,\n"
    job = run(upload(text, policy=policy))
    jean = contact("jean@exemple.fr")
    values = get_values(jean)
    if policy == "update":
        assert (jean.first_name, jean.last_name, values) == ("Jeannot", "Valjean", {"zone": "APAC", "revenue": "2 M€"})
        assert (job.updated, job.skipped) == (1, 0)
        change = Event.get((Event.contact == jean.id) & (Event.kind == "contact_updated"))
        assert change.data["changes"]["first_name"] == ["Jean", "Jeannot"]
        assert change.data["changes"]["zone"] == ["EMEA", "APAC"]
        assert change.data["source"] == "import" and change.data["import_id"] == job.id
    elif policy == "skip":
        assert (jean.first_name, jean.last_name, values) == ("Jean", "", {"zone": "EMEA"})
        assert (job.updated, job.skipped) == (0, 1)
    else:
        assert (jean.first_name, jean.last_name, values) == ("Jean", "Valjean", {"zone": "EMEA", "revenue": "2 M€"})
        assert (job.updated, job.skipped) == (1, 0)
    assert job.created == 1


def test_empty_cells_never_erase_existing_values(article_fields):
    from core.contacts import create_contact

    create_contact({"email": "jean@exemple.fr", "first_name": "Jean", "zone": "EMEA"})
    job = run(upload("email,prénom,zone\njean@exemple.fr,,\n"))
    assert (job.unchanged, job.updated) == (1, 0)
    assert contact("jean@exemple.fr").first_name == "Jean"
    assert get_values(contact("jean@exemple.fr")) == {"zone": "EMEA"}


def rows_csv(count: int) -> str:
    return "email,prénom,zone\n" + "".join(f"c{i}@exemple.fr,Prénom {i},{ZONES[i % 4]}\n" for i in range(count))


def test_a_test_run_of_a_dozen_rows_then_the_whole_file(article_fields):
    job = run(upload(rows_csv(30), test_rows=12))
    assert (job.rows_total, job.rows_done, job.created) == (12, 12, 12)
    assert Contact.select().count() == 12

    full = run(runner.copy_job(job, full=True))
    assert full.test_rows is None
    assert (full.rows_total, full.created, full.unchanged) == (30, 18, 12)
    assert Contact.select().count() == 30


def test_running_the_same_file_again_changes_nothing(article_fields, run_jobs, monkeypatch):
    monkeypatch.setattr(runner, "BATCH_SIZE", 4)
    repeated = "c3@exemple.fr,Autre prénom,APAC\nC3@exemple.fr,,NORAM\nc24@exemple.fr,Vingt-quatre,EMEA\n"
    first = run(upload(rows_csv(25) + repeated, tags=["salon-2024"]))
    assert (first.created, first.duplicates) == (25, 3)
    assert (contact("c3@exemple.fr").first_name, get_values(contact("c3@exemple.fr"))) == ("Autre prénom", {"zone": "NORAM"})
    run_jobs()
    events = Event.select().count()
    stamps = {c.id: c.updated_at for c in Contact.select()}
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0

    again = run(runner.copy_job(first))
    assert (again.created, again.updated, again.unchanged, again.duplicates, again.errors) == (0, 0, 25, 3, 0)
    assert Event.select().count() == events  # no new event for unchanged rows
    assert {c.id: c.updated_at for c in Contact.select()} == stamps
    assert Contact.select().count() == 25


def test_a_multiple_select_column_creates_updates_and_then_changes_nothing(ctx):
    CustomField.create(key="interests", label="Centres d'intérêt", type_id="multiselect",
                       options=["CRM", "Emailing", "SEO"])
    targets = {"intérêts": "field:interests"}
    first = run(upload("email,intérêts\na@exemple.fr,\"seo, crm\"\nb@exemple.fr,Emailing\nc@exemple.fr,\n",
                       targets=targets))
    assert first.created == 3
    assert get_values(contact("a@exemple.fr"))["interests"] == ["CRM", "SEO"]
    assert get_values(contact("b@exemple.fr"))["interests"] == ["Emailing"]
    assert "interests" not in get_values(contact("c@exemple.fr"))

    again = run(upload("email,intérêts\na@exemple.fr,CRM|SEO\nb@exemple.fr,SEO;CRM\nc@exemple.fr,Emailing\n",
                       targets=targets))
    assert (again.created, again.updated, again.unchanged) == (0, 2, 1)
    assert get_values(contact("a@exemple.fr"))["interests"] == ["CRM", "SEO"]
    assert get_values(contact("b@exemple.fr"))["interests"] == ["CRM", "SEO"]  # replaced, not added to
    assert get_values(contact("c@exemple.fr"))["interests"] == ["Emailing"]
    changed = Event.select().where((Event.kind == "contact_updated") & (Event.contact == contact("b@exemple.fr").id)).get()
    assert changed.data["changes"] == {"interests": [["Emailing"], ["CRM", "SEO"]]}

    third = run(runner.copy_job(again))
    assert (third.updated, third.unchanged) == (0, 3)


def test_imported_contacts_get_events_in_bulk_dispatched_by_a_worker(article_fields, run_jobs):
    job = run(upload(rows_csv(5), tags=["webinar"]))
    created = list(Event.select().where(Event.kind == "contact_created"))
    assert len(created) == 5
    assert all(e.data == {"source": "import", "import_id": job.id} and e.source == "import" for e in created)
    assert Event.select().where(Event.kind == "tag_added").count() == 5
    assert all(tags_of(c) == ["webinar"] for c in Contact.select())
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 10
    run_jobs()
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0


def test_a_contact_created_by_someone_else_during_the_import_is_reported_not_overwritten(ctx, monkeypatch):
    from plugins.imports import pipeline

    Contact.create(email="b@exemple.fr", first_name="Déjà là")
    looked_up = pipeline.Importer._existing
    # the lookup ran before the other writer committed: it does not see b@
    monkeypatch.setattr(pipeline.Importer, "_existing",
                        lambda self, emails: {e: r for e, r in looked_up(self, emails).items() if e != "b@exemple.fr"})
    job = run(upload("email,first name\na@exemple.fr,Ana\nb@exemple.fr,Bruno\nc@exemple.fr,Chloé\n"))
    assert (job.created, job.skipped) == (2, 1)
    assert reported(job)[0][:2] == (3, "skipped")
    assert "someone else" in reported(job)[0][2]
    assert contact("b@exemple.fr").first_name == "Déjà là"
    events = {e.contact.email for e in Event.select().where(Event.kind == "contact_created")}
    assert events == {"a@exemple.fr", "c@exemple.fr"}


def test_created_contacts_get_their_own_values_whatever_order_the_database_returns_them_in(article_fields, monkeypatch):
    from plugins.imports import pipeline

    inserted = pipeline.insert_rows

    def reversed_returning(model, fields, rows, **options):
        returned = inserted(model, fields, rows, **options)
        return returned[::-1] if model is Contact else returned

    monkeypatch.setattr(pipeline, "insert_rows", reversed_returning)
    job = run(upload("email,first name,zone\na@exemple.fr,Ana,EMEA\nb@exemple.fr,Bruno,APAC\n",
                     targets={"zone": "field:zone"}))
    assert job.created == 2
    assert get_values(contact("a@exemple.fr"))["zone"] == "EMEA"
    assert get_values(contact("b@exemple.fr"))["zone"] == "APAC"
    created = {e.contact.email: e.contact.first_name for e in Event.select().where(Event.kind == "contact_created")}
    assert created == {"a@exemple.fr": "Ana", "b@exemple.fr": "Bruno"}


def test_tags_column_and_tags_for_every_contact(ctx):
    job = run(upload("email,tags\na@exemple.fr,\"vip, salon\"\nb@exemple.fr,\n", tags=["import-mai"]))
    assert job.created == 2
    assert tags_of(contact("a@exemple.fr")) == ["import-mai", "salon", "vip"]
    assert tags_of(contact("b@exemple.fr")) == ["import-mai"]


# --- owners and cleaning ----------------------------------------------------------------------


def test_owner_column_assigns_known_reps_and_reports_unknown_ones(ctx, rep):
    gone = auth.create_user("parti@example.com", "long password 1", role="sales")
    gone.is_active = False
    gone.save()
    text = ("email,propriétaire du contact\n"
            "a@exemple.fr,VENDEUSE@example.com\n"
            "b@exemple.fr,inconnu@example.com\n"
            "c@exemple.fr,parti@example.com\n"
            "d@exemple.fr,\n")
    job = run(upload(text))
    assert (job.created, job.warnings, job.errors) == (4, 2, 0)
    assert contact("a@exemple.fr").owner_id == rep.id
    assert contact("b@exemple.fr").owner_id is None
    assert [(line, kind) for line, kind, _ in reported(job)] == [(3, "warning"), (4, "warning")]
    assert "no active user has the email 'inconnu@example.com'" in reported(job)[0][2]


def test_cleaning_skips_bounced_unsubscribed_suppressed_addresses_and_cold_leads(ctx, web, smtp_sink):
    """The bounce and the unsubscription happen the real way: a DSN posted to the
    email plugin's inbound endpoint, a click on the unsubscribe page of a sent email."""
    import re

    from tests.test_email_send import part, save_settings
    from tests.test_email_tracking import DSN, local, sent_mail

    _, bounced_mail, _ = sent_mail(ctx, smtp_sink, email="bounce@exemple.fr")
    save_settings("email", inbound_secret="s3cret")
    dsn = DSN.format(to=bounced_mail.envelope_from, status="5.1.1", diagnostic="550 5.1.1 No such user",
                     mid=bounced_mail["Message-ID"])
    assert web.post("/e/inbound?secret=s3cret", dsn, headers={"Content-Type": "message/rfc822"}).json["type"] == "hard"
    _, stop_mail, _ = sent_mail(ctx, smtp_sink, email="stop@exemple.fr")
    [page_url] = re.findall(r'href="(http://couvee\.test/e/u/[^"/]+)"', part(stop_mail, "html"))
    assert "You are unsubscribed" in web.get(local(page_url)).forms[0].submit().text
    SettingValue.create(group="imports", key="suppressed_addresses", value="Blocked@exemple.fr\nnot an address")
    today = dt.date.today().isoformat()
    text = ("email,prénom,dernière activité\n"
            f"bounce@exemple.fr,B,{today}\n"
            f"stop@exemple.fr,S,{today}\n"
            f"blocked@exemple.fr,X,{today}\n"
            "old@exemple.fr,O,01/01/2001\n"
            f"fresh@exemple.fr,F,{today}\n"
            "unknown@exemple.fr,U,\n")
    job = upload(text)
    assert job.options["cold_column"] == 2
    job.options = {**job.options, "cold_months": 24}
    job.save()
    job = run(job)
    assert (job.created, job.skipped, job.errors) == (2, 4, 0)
    assert {c.email for c in Contact.select().where(Contact.first_name.not_in(["", "Ada"]))} == \
        {"fresh@exemple.fr", "unknown@exemple.fr"}
    assert contact("bounce@exemple.fr").first_name == "Ada" and contact("stop@exemple.fr").first_name == "Ada"
    reasons = {line: reason for line, kind, reason in reported(job) if kind == "skipped"}
    assert reasons[2] == "This address had an email bounce before: not imported again."
    assert reasons[3] == "This address unsubscribed from emails before: not imported again."
    assert reasons[4] == "This address is on the suppression list."
    assert reasons[5].startswith("Cold lead: last activity on 2001-01-01 is more than 24 months old")

    kept = run(upload(text, options={"skip_suppressed": False, "cold_column": None}))
    assert kept.skipped == 0 and kept.created == 2  # old@ and blocked@; bounce@ and stop@ are updated
    assert contact("bounce@exemple.fr").first_name == "B"


# --- export ---------------------------------------------------------------------------------------


def test_export_of_a_search_neutralises_formulas(article_fields, admin, rep):
    from core.contacts import add_tag, create_contact

    evil = create_contact({"email": "evil@exemple.fr", "first_name": "=cmd()", "last_name": "+SUM(A1)",
                           "revenue": "@risk", "zone": "EMEA", "uses_excel": "oui"}, owner=rep)
    add_tag(evil, "-danger")
    create_contact({"email": "other@autre.fr", "first_name": "Other"})

    response = admin.get("/admin/contacts/export", {"q": "exemple"})
    assert response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["Email", "First name", "Last name", "Owner", "Tags"]
    assert rows[0][5:10] == [label for _, label, _, _ in ARTICLE_FIELDS]
    assert len(rows) == 2  # the search excludes other@autre.fr
    row = dict(zip(rows[0], rows[1]))
    assert row["First name"] == "'=cmd()" and row["Last name"] == "'+SUM(A1)"
    assert row["CA de l'entreprise"] == "'@risk" and row["Tags"] == "'-danger"
    assert row["Owner"] == "vendeuse@example.com"
    assert row["Zone d'activité géographique"] == "EMEA" and row["Utilise Excel pour gérer ses tâches ?"] == "Yes"
    assert [csv_cell(v) for v in ("\tx", "\rx", "a=b", 3)] == ["'\tx", "'\rx", "a=b", "3"]


def test_export_streams_every_contact_page_by_page(ctx, admin, monkeypatch):
    from plugins.imports import export

    monkeypatch.setattr(export, "PAGE", 7)
    run(upload(rows_csv(30)))
    rows = list(csv.reader(io.StringIO(admin.get("/admin/contacts/export").text.lstrip("\ufeff"))))
    assert sorted(r[0] for r in rows[1:]) == sorted(f"c{i}@exemple.fr" for i in range(30))


def test_export_of_a_static_segment(ctx, admin):
    segments = pytest.importorskip("plugins.segments")
    run(upload(rows_csv(6)))
    segment = segments.Segment.create(name="Salon", kind="static")
    segments.add_contacts_to_segment(segment, [contact("c1@exemple.fr").id, contact("c4@exemple.fr").id])
    rows = list(csv.reader(io.StringIO(admin.get(f"/admin/contacts/export?segment={segment.id}").text.lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == ["c1@exemple.fr", "c4@exemple.fr"]
    assert admin.get("/admin/contacts/export?segment=999", status=400)


def test_import_adds_the_contacts_to_a_static_segment(article_fields):
    segments = pytest.importorskip("plugins.segments")
    segment = segments.Segment.create(name="Salon 2024", kind="static")
    job = run(upload(rows_csv(4), segment_id=segment.id))
    assert job.message == ""
    members = {row.contact_id for row in segments.segment_members(segment)}
    assert members == {c.id for c in Contact.select()}


# --- the admin wizard ------------------------------------------------------------------------------


def test_wizard_upload_map_run_and_watch_the_progress(article_fields, admin, run_jobs):
    page = admin.get("/admin/imports")
    assert "Import contacts" in page.text
    form = page.forms["upload-form"]
    text = FRENCH_HEADER + "\r\n" + "".join(
        f"Prénom{i};Nom{i};p{i}@exemple.fr;Société {i};{i} M€;{ZONES[i % 4]};oui;01/02/2003;\r\n" for i in range(20)
    ) + "Zoé;Erreur;zoe@exemple.fr;X;;Mars;oui;;\r\n"
    form["file"] = ("export crm.csv", text.encode("cp1252"))
    setup = form.submit().follow()
    assert "Prénom3" in setup.text and "Windows-1252" in setup.text  # preview and detected encoding
    run_form = setup.forms["mapping-form"]
    assert run_form["target_2"].value == "email"
    assert run_form["target_3"].value == "new:text"  # Société: a new field
    assert run_form["test_rows"].value == "12"
    run_form["test_only"] = False
    run_form["tags"] = "salon-2024"
    run_form["policy"] = "fill"
    queued = run_form.submit("action", value="run").follow()
    assert "queued" in queued.text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in queued.text  # progress without JS
    assert "<progress" in queued.text and "imports.js" in queued.text

    run_jobs()
    done = admin.get(queued.request.path)
    assert "meta http-equiv" not in done.text
    job = ImportJob.get()
    assert (job.status, job.created, job.errors, job.policy, job.tags) == ("done", 20, 1, "fill", ["salon-2024"])
    assert '<progress max="21" value="21"' in done.text
    assert "Download the error report" in done.text
    assert admin.get(f"/admin/imports/{job.id}/progress.json").json["finished"] is True
    societe = CustomField.get(CustomField.label == "Société")
    assert get_values(contact("p5@exemple.fr"))["societe"] == "Société 5"
    assert societe.type_id == "text"
    report = admin.get(f"/admin/imports/{job.id}/report.csv").text
    assert "22,error" in report and "Mars" in report
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0


def test_wizard_refuses_a_mapping_without_email(ctx, admin):
    job = upload("email,nom\na@exemple.fr,A\n")
    setup = admin.get(f"/admin/imports/{job.id}/setup")
    form = setup.forms["mapping-form"]
    form["target_0"] = "ignore"
    page = form.submit("action", value="run", status=400)
    assert "Map exactly one column to Email" in page.text
    assert ImportJob.get_by_id(job.id).status == "draft"


def test_wizard_can_read_the_file_again_with_another_separator(ctx, admin):
    job = upload("email;nom\na@exemple.fr;A\n")
    form = admin.get(f"/admin/imports/{job.id}/setup").forms["reread-form"]
    form["delimiter"] = ","
    page = form.submit("action", value="reread")
    assert ImportJob.get_by_id(job.id).headers == ["email;nom"]
    assert "email;nom" in page.text


def test_new_select_field_from_a_column_gets_its_values_as_options(ctx, admin):
    job = upload("email,taille\na@exemple.fr,PME\nb@exemple.fr,TPE\nc@exemple.fr,PME\n")
    form = admin.get(f"/admin/imports/{job.id}/setup").forms["mapping-form"]
    form["target_1"] = "new:select"
    form["test_only"] = False
    form.submit("action", value="run").follow()
    field = CustomField.get(CustomField.key == "taille")
    assert (field.label, field.type_id, field.options) == ("taille", "select", ["PME", "TPE"])


@pytest.mark.parametrize("name, data, message", [
    ("contacts.xlsx", b"PK\x03\x04" + b"\x00" * 200, "Excel workbook"),
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a text (CSV) file"),
    ("vide.csv", b"", "empty"),
    ("big.csv", b"email\n" + b"a@exemple.fr\n" * 400, "larger than the 4 KB limit"),
])
def test_upload_that_is_not_text_or_too_big_is_refused(config, ctx, admin, name, data, message):
    ctx.extensions["couvee"].config.max_upload_bytes = 4096
    form = admin.get("/admin/imports").forms["upload-form"]
    form["file"] = (name, data)
    page = form.submit(status=400)
    assert message in page.text
    assert ImportJob.select().count() == 0
    assert [p.name for p in (config["instance_path"] / "uploads" / "imports").iterdir()] == []


def test_cancel_a_queued_import(ctx, admin, run_jobs):
    job = upload(rows_csv(3))
    runner.start(job)
    page = admin.get(f"/admin/imports/{job.id}")
    page = admin.post(f"/admin/imports/{job.id}/cancel", {"csrf_token": csrf_of(page)}).follow()
    assert "cancelled" in page.text
    run_jobs()
    assert ImportJob.get_by_id(job.id).status == "cancelled"
    assert Contact.select().count() == 0


def test_cancelling_a_running_import_stops_it_after_its_batch_and_running_it_again_finishes(ctx, monkeypatch):
    monkeypatch.setattr(runner, "BATCH_SIZE", 4)
    job = upload(rows_csv(10))
    runner.start(job)
    done = runner._done

    def cancel_after_the_first_batch(result, counts, on_batch):
        done(result, counts, on_batch)
        runner.cancel(job)

    monkeypatch.setattr(runner, "_done", cancel_after_the_first_batch)
    assert runner.run_import(job.id) == "cancelled"
    stopped = ImportJob.get_by_id(job.id)
    assert (stopped.rows_done, stopped.created) == (4, 4)
    assert Contact.select().count() == 4
    monkeypatch.setattr(runner, "_done", done)

    again = run(runner.copy_job(stopped))
    assert (again.created, again.unchanged) == (6, 4)
    assert Contact.select().count() == 10


def test_an_import_that_fails_half_way_keeps_its_committed_batches_and_says_why(ctx, monkeypatch):
    from plugins.imports import pipeline

    monkeypatch.setattr(runner, "BATCH_SIZE", 4)
    job = upload(rows_csv(10))
    runner.start(job)
    write = pipeline.Importer._write
    batches = []

    def disk_full_on_the_second_batch(self, records, existing, result):
        batches.append(len(records))
        if len(batches) == 2:
            raise OSError("No space left on device")
        return write(self, records, existing, result)

    monkeypatch.setattr(pipeline.Importer, "_write", disk_full_on_the_second_batch)
    assert runner.run_import(job.id) == "failed"
    failed = ImportJob.get_by_id(job.id)
    assert failed.message == "OSError: No space left on device"
    assert (failed.rows_done, failed.created) == (4, 4)  # the second batch was rolled back as a whole
    assert Contact.select().count() == 4
    assert Event.select().count() == 4
    monkeypatch.setattr(pipeline.Importer, "_write", write)

    again = run(runner.copy_job(failed))
    assert (again.created, again.unchanged) == (6, 4)


def test_sales_reps_cannot_import_or_export(ctx, web, admin_user, rep):
    from .conftest import login

    login(web, "vendeuse@example.com", "long password 1")
    web.get("/admin/imports", status=403)
    web.get("/admin/contacts/export", status=403)


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def cli(couvee_cli):
    return couvee_cli


def test_cli_import_with_explicit_mapping_and_report_then_export(article_fields, cli, tmp_path):
    source = tmp_path / "crm.csv"
    source.write_text("Mail;Given;Zone;Tags\na@exemple.fr;Ana;EMEA;vip\nbad;Bob;EMEA;\nc@exemple.fr;Cy;APAC;\n",
                      encoding="cp1252")
    report = tmp_path / "report.csv"
    result = cli("import", str(source), "--map", "Mail=email", "--map", "given=first_name", "--map", "3=zone",
                 "--tag", "cli", "--policy", "fill", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "Done: 3 rows, 2 created" in result.output and "1 errors" in result.output
    assert "Rows" in result.stderr  # the terminal progress bar
    assert report.read_text().splitlines()[1].startswith("3,error,Mail: 'bad' is not a valid email address")
    assert tags_of(contact("a@exemple.fr")) == ["cli", "vip"]
    assert get_values(contact("c@exemple.fr")) == {"zone": "APAC"}

    again = cli("import", str(source), "--map", "Mail=email", "--limit", "1")
    assert "Done: 1 rows, 0 created, 0 updated, 1 unchanged" in again.output

    out = tmp_path / "export.csv"
    exported = cli("export", "--q", "exemple", "--output", str(out))
    assert exported.exit_code == 0, exported.output
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert [r[0] for r in rows[1:]] == ["a@exemple.fr", "c@exemple.fr"]


def test_cli_explains_a_wrong_mapping(ctx, cli, tmp_path):
    source = tmp_path / "crm.csv"
    source.write_text("email,nom\na@exemple.fr,A\n")
    result = cli("import", str(source), "--map", "nom=shoe_size")
    assert result.exit_code == 2
    assert "unknown field 'shoe_size'" in result.output
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00")
    refused = cli("import", str(binary))
    assert refused.exit_code == 1 and "Excel workbook" in refused.output



def test_erasure_removes_the_person_from_import_reports_and_kept_files(ctx):
    from plugins.imports.runner import job_file
    from core.state import state

    job = run(upload("email,first_name\nada@example.com,Ada\nbob@example.com,Bob\nnot-an-email,Zed\n"
                     "Ada@Example.com,Ada again\n"))
    ImportRowError.create(job=job, line=9, kind="warning", reason="test", row=["ada@example.com", "Ada"])
    ada = contact("ada@example.com")
    state().hooks.call("contact_erase", contact=ada, mode="delete")
    text = job_file(job).read_text()
    assert "ada@example.com" not in text.lower() and "bob@example.com" in text and "not-an-email" in text
    rows = [r.row for r in ImportRowError.select().where(ImportRowError.job == job.id)]
    assert not any("ada@example.com" in str(row).lower() for row in rows), rows
    assert any("not-an-email" in str(row) for row in rows)  # other reports stay


# --- tag cells written with quotes (Mailchimp) -------------------------------------------


def test_mailchimp_tags_column_loses_its_quotes(ctx):
    """Mailchimp writes TAGS as ``"crm","ebook"`` inside the CSV cell; a
    whole quoted cell is one tag, taken as written, separators included."""
    text = ('Email Address,First Name,TAGS\n'
            'ana@exemple.fr,Ana,"""crm"",""ebook"""\n'
            'bob@exemple.fr,Bob,"""crm,ebook"""\n'
            'cy@exemple.fr,Cy,"""Salon, Paris"", vip; ""say """"hi"""""""\n')
    job = run(upload(text))
    assert (job.status, job.created, job.errors) == ("done", 3, 0)
    assert job.mapping[2]["target"] == "tags"
    assert tags_of(contact("ana@exemple.fr")) == ["crm", "ebook"]
    assert tags_of(contact("bob@exemple.fr")) == ["crm,ebook"]
    assert tags_of(contact("cy@exemple.fr")) == ["Salon, Paris", 'say "hi"', "vip"]


# --- re-running an import that creates fields ----------------------------------------------


def test_cli_import_run_twice_with_new_select_reuses_the_field(ctx, cli, tmp_path):
    source = tmp_path / "salon.csv"
    source.write_text("email;Zone d'activité géographique\na@exemple.fr;EMEA\nb@exemple.fr;APAC\n", encoding="utf-8")
    first = cli("import", str(source), "--map", "2=new:select")
    assert first.exit_code == 0, first.output
    source.write_text("email;Zone d'activité géographique\na@exemple.fr;EMEA\nc@exemple.fr;LATAM\n", encoding="utf-8")
    second = cli("import", str(source), "--map", "2=new:select")
    assert second.exit_code == 0, second.output
    assert "1 created" in second.output and "1 unchanged" in second.output

    fields = list(CustomField.select())
    assert [(f.key, f.type_id) for f in fields] == [("zone_d_activite_geographique", "select")]
    assert fields[0].options == ["EMEA", "APAC", "LATAM"]  # the new value became a choice
    assert get_values(contact("c@exemple.fr")) == {"zone_d_activite_geographique": "LATAM"}


def test_cli_new_field_whose_label_has_another_type_is_a_clear_error(ctx, cli, tmp_path):
    CustomField.create(key="zone", label="Zone d'activité géographique", type_id="text")
    source = tmp_path / "salon.csv"
    source.write_text("email;Zone d'activite geographique\na@exemple.fr;EMEA\n", encoding="utf-8")
    result = cli("import", str(source), "--map", "2=new:select")
    assert result.exit_code == 2
    assert "already exists with the type 'text'" in result.output and "field:zone" in result.output
    assert CustomField.select().count() == 1 and Contact.select().count() == 0


def test_wizard_new_field_reuses_a_field_with_that_label_and_type(ctx, admin):
    CustomField.create(key="societe", label="Société", type_id="text")
    CustomField.create(key="taille", label="Taille", type_id="text")
    job = upload("email,Société,TAILLE\na@exemple.fr,Acme,PME\n")
    form = admin.get(f"/admin/imports/{job.id}/setup").forms["mapping-form"]
    form["target_1"] = "new:text"
    form["target_2"] = "new:select"
    form["test_only"] = False
    page = form.submit("action", value="run", status=400)
    assert "TAILLE: a field “Taille” already exists with the type &#39;text&#39;" in page.text
    assert CustomField.select().count() == 2 and ImportJob.get_by_id(job.id).status == "draft"

    form = page.forms["mapping-form"]
    form["target_2"] = "ignore"
    form.submit("action", value="run").follow()
    assert ImportJob.get_by_id(job.id).mapping[1]["target"] == "field:societe"
    assert CustomField.select().count() == 2


# --- file fields: file names resolved in a folder given with --files --------------------------


def test_cli_import_fills_file_fields_from_a_folder(article_fields, cli, tmp_path, ctx):
    from core.files import open_stored
    from core.models import StoredFile

    files = tmp_path / "export"
    (files / "devis").mkdir(parents=True)
    (files / "devis" / "Cahier Acmé.pdf").write_bytes(b"%PDF-1.4\n% the specification\n")
    (files / "photo.png").write_bytes(b"not a picture at all")
    (files / "tool.exe").write_bytes(b"MZ\x90\x00")
    (tmp_path / "secret.txt").write_text("outside the folder")
    source = tmp_path / "crm.csv"
    source.write_text("email;Cahier des charges\n"
                      "a@exemple.fr;devis/Cahier Acmé.pdf\n"
                      "b@exemple.fr;devis/Cahier Acmé.pdf\n"
                      "c@exemple.fr;photo.png\n"
                      "d@exemple.fr;tool.exe\n"
                      "e@exemple.fr;../secret.txt\n"
                      "f@exemple.fr;devis/missing.pdf\n"
                      "g@exemple.fr;\n", encoding="utf-8")

    refused = cli("import", str(source))
    assert refused.exit_code == 2 and "Cahier des charges: a file field is filled from the file names" in refused.output
    assert "--files DIR" in refused.output and Contact.select().count() == 0

    report = tmp_path / "report.csv"
    result = cli("import", str(source), "--files", str(files), "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output and "4 errors" in result.output
    reasons = report.read_text(encoding="utf-8")
    assert "is not a real PNG image" in reasons and ".exe files are not accepted" in reasons
    assert '"../secret.txt"" is not inside the files folder' in reasons
    assert 'there is no file ""devis/missing.pdf""' in reasons

    stored = StoredFile.get()  # one stored copy for the two contacts naming the same file
    assert get_values(contact("a@exemple.fr")) == {"spec": str(stored.id)}
    assert get_values(contact("b@exemple.fr")) == {"spec": str(stored.id)}
    assert get_values(contact("g@exemple.fr")) == {}
    assert (stored.original_name, stored.content_type) == ("Cahier Acmé.pdf", "application/pdf")
    uploads = ctx.extensions["couvee"].config.uploads_path
    path = open_stored(stored, uploads)
    assert path.read_bytes() == b"%PDF-1.4\n% the specification\n" and "static" not in path.parts

    again = cli("import", str(source), "--files", str(files))
    assert "0 created, 0 updated, 3 unchanged" in again.output
    assert StoredFile.select().count() == 1


def test_wizard_explains_that_file_fields_need_a_zip_of_the_files(article_fields, admin):
    job = upload("email,Cahier des charges\na@exemple.fr,devis.pdf\n")
    form = admin.get(f"/admin/imports/{job.id}/setup").forms["mapping-form"]
    assert form["target_1"].value == "field:spec"
    page = form.submit("action", value="run", status=400)
    assert "Cahier des charges: a file field is filled from the files this column names" in page.text
    assert "upload a .zip holding the CSV and those files" in page.text and "couvee import --files DIR" in page.text
