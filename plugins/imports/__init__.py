"""CSV import and export of contacts: the wizard (:mod:`.views`, upload →
mapping → progress → report), the pipeline that writes a file in batches
(:mod:`.sniff`, :mod:`.reader`, :mod:`.mapping`, :mod:`.parse`,
:mod:`.pipeline`), the RQ job on the ``import`` queue and the job's life cycle
(:mod:`.runner`), zips with files (:mod:`.archive`, :mod:`.attachments`),
consent columns and declarations (:mod:`.consent`, which emits the
``consent_imported`` kind of :mod:`.kinds`), the streamed CSV export
(:mod:`.export`) and the ``couvee import`` / ``couvee export`` commands
(:mod:`.commands`). See docs/imports.md.

Driving it from Python (tests, benchmarks)::

    from plugins.imports import runner
    job = runner.new_job(open("contacts.csv", "rb"), "contacts.csv", user=user)  # stored, sniffed, mapped
    job.policy = "fill"; job.save()
    runner.start(job)               # RQ job on the "import" queue (runner.run_import)

It was core's internal plugin ``core_imports`` until issue 18; its manifest
says ``formerly = "core_imports"`` so existing installs keep their tables.
Deactivated, its pages, menu entry, contacts-page buttons and commands
disappear; its tables (import jobs and reports) are kept.
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import AdminMenuItem, Command, Migration, Setting, SettingsGroup, SetupStep, current_user, hookimpl
from core import translation_domain

from .models import DONE, IMPORT_MODELS, ImportJob
from .views import ROLES, imports_blueprint

_, _l = translation_domain(__name__).pair()


@hookimpl
def register_models():
    return list(IMPORT_MODELS)


@hookimpl
def register_migrations():
    from .migrations import add_report_detail

    return [Migration.create_tables(1, "import jobs and reports", IMPORT_MODELS),
            Migration(2, "reported lines keep their reason as messages to translate", add_report_detail)]


@hookimpl
def register_event_kinds():
    from .kinds import imports_event_kinds

    return imports_event_kinds()


@hookimpl
def register_blueprints():
    return [imports_blueprint]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("imports", _l("Import"), "imports.index", order=15, roles=ROLES)]


@hookimpl
def register_settings():
    return [
        SettingsGroup("imports", _l("Imports"), [
            Setting("suppressed_addresses", _l("Suppressed addresses"), kind="textarea",
                    help=_l("One address per line. With the cleaning option on, imports skip them, "
                            "like addresses that bounced or unsubscribed.")),
            Setting("archive_max_files", _l("Most entries in an imported zip"), kind="int", default=1000,
                    env="COUVEE_IMPORT_ARCHIVE_MAX_FILES", clean=at_least_one,
                    help=_l("A zip holding more files is refused before it is unpacked.")),
            Setting("archive_max_megabytes", _l("Most megabytes an imported zip unpacks to"), kind="int",
                    default=500, env="COUVEE_IMPORT_ARCHIVE_MAX_MEGABYTES", clean=at_least_one,
                    help=_l("All its files together, as really unpacked: a larger zip is refused (zip bombs).")),
        ])
    ]


def at_least_one(number: int) -> int:
    if number < 1:
        raise ValueError(_("use a whole number of 1 or more."))
    return number


@hookimpl
def contact_change_sources():
    return {"import": translation_domain(__name__).pgettext("change source", "CSV import")}


@hookimpl
def register_commands():
    from .commands import export_command, import_command

    # fresh command objects for each app: the CLI wraps their callbacks in
    # the app context of the app that registered them
    return [Command(import_command()), Command(export_command())]


@hookimpl
def tpl_slot(slot, context):
    """The contacts list's Import and Export CSV buttons (for the search shown)."""
    user = current_user()
    if slot != "contacts_actions" or user is None or user.role not in ROLES:
        return None
    return Markup(render_template("imports/contacts_actions.html", q=context.get("q") or ""))


@hookimpl
def contact_erase(contact, mode):
    """Erasure reaches import reports and kept CSV files (both hold raw lines)."""
    from .erasure import erase_from_imports

    erase_from_imports(contact.email)


def _imported_once() -> bool:
    return ImportJob.select().where(ImportJob.status == DONE).exists()


@hookimpl
def register_setup_steps():
    return [SetupStep("imports.first", _l("Import your contacts"), "imports.index", _imported_once,
                      help=_l("Bring a CSV file from your CRM or spreadsheet."), order=30)]
