"""Imports as an internal plugin (``core_imports``): its tables, admin pages,
menu entry, setting and ``couvee import`` / ``couvee export`` commands."""
from __future__ import annotations

from ..extension import AdminMenuItem, Command, Migration, Setting, SettingsGroup, SetupStep
from ..hookspecs import hookimpl


@hookimpl
def register_models():
    from .models import IMPORT_MODELS

    return list(IMPORT_MODELS)


@hookimpl
def register_migrations():
    from .models import IMPORT_MODELS

    return [Migration.create_tables(1, "import jobs and reports", IMPORT_MODELS)]


@hookimpl
def register_blueprints():
    from .views import imports_blueprint

    return [imports_blueprint]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("imports", "Import", "imports.index", order=15, roles=("admin", "marketer"))]


@hookimpl
def register_settings():
    return [
        SettingsGroup("imports", "Import", [
            Setting("suppressed_addresses", "Suppressed addresses", kind="textarea",
                    help="One address per line. With the cleaning option on, imports skip them, "
                         "like addresses that bounced or unsubscribed."),
        ])
    ]


@hookimpl
def register_commands():
    from .commands import export_command, import_command

    # fresh command objects for each app: the CLI wraps their callbacks in
    # the app context of the app that registered them
    return [Command(import_command()), Command(export_command())]


@hookimpl
def contact_erase(contact, mode):
    """Erasure reaches import reports and kept CSV files (both hold raw lines)."""
    from .erasure import erase_from_imports

    erase_from_imports(contact.email)


def _imported_once() -> bool:
    from .models import DONE, ImportJob

    return ImportJob.select().where(ImportJob.status == DONE).exists()


@hookimpl
def register_setup_steps():
    return [SetupStep("imports.first", "Import your contacts", "imports.index", _imported_once,
                      help="Bring a CSV file from your CRM or spreadsheet.", order=30)]
