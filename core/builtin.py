"""Core's own hook implementations, registered like any plugin under the name
``core``: its tables, the six field types, the custom fields admin, its admin
menu, setup step and periodic jobs."""
from __future__ import annotations

from .extension import AdminMenuItem, Migration, PeriodicJob, Setting, SettingsGroup, SetupStep
from .hookspecs import hookimpl
from .i18n import clean_timezone, core_domain, language_choices

_l = core_domain().lazy_gettext


def _add_event_outbox(database, migrator):
    """Claims on undispatched events, per-plugin delivery failures, and an index
    of the outbox (a no-op where version 1 already created them)."""
    import peewee
    from playhouse.migrate import migrate

    from .models import EventDelivery, UTCDateTimeField

    present = {column.name for column in database.get_columns("event")}
    columns = {"claimed_by": peewee.CharField(null=True), "claimed_until": UTCDateTimeField(null=True)}
    migrate(*[migrator.add_column("event", name, field) for name, field in columns.items() if name not in present])
    database.create_tables([EventDelivery], safe=True)
    database.execute_sql("CREATE INDEX IF NOT EXISTS event_outbox ON event (id) WHERE dispatched_at IS NULL")


def _add_event_lanes(database, migrator):
    """The priority lane and the partitions of the outbox: an ``interactive``
    flag on events (existing rows are bulk), an index of the undispatched
    events by lane, and one of the live claims (a no-op where present)."""
    if "interactive" not in {column.name for column in database.get_columns("event")}:
        database.execute_sql("ALTER TABLE event ADD COLUMN interactive BOOLEAN NOT NULL DEFAULT FALSE")
    for statement in OUTBOX_INDEXES:
        database.execute_sql(statement)


def _add_languages(database, migrator):
    """The language of each admin user and of each contact ("" = the default)."""
    for table in ("couvee_user", "contact"):
        if "language" not in {column.name for column in database.get_columns(table)}:
            database.execute_sql(f"ALTER TABLE {table} ADD COLUMN language VARCHAR(16) NOT NULL DEFAULT ''")


#: partial indexes of the undispatched events (core/dispatch/outbox.py)
OUTBOX_INDEXES = (
    "CREATE INDEX IF NOT EXISTS event_outbox_lane ON event (interactive, id) WHERE dispatched_at IS NULL",
    "CREATE INDEX IF NOT EXISTS event_outbox_claims ON event (claimed_until) WHERE dispatched_at IS NULL",
)


@hookimpl
def register_migrations():
    from .models import CORE_MODELS

    return [Migration.create_tables(1, "core tables", CORE_MODELS),
            Migration(2, "event outbox claims and per-plugin deliveries", _add_event_outbox),
            Migration(3, "event outbox partitions and priority lane", _add_event_lanes),
            Migration(4, "languages of users and contacts", _add_languages)]


@hookimpl
def register_models():
    from .models import CORE_MODELS

    return list(CORE_MODELS)


@hookimpl
def register_field_types():
    from .fields import CORE_FIELD_TYPES

    return list(CORE_FIELD_TYPES)


@hookimpl
def register_event_kinds():
    from .kinds import core_event_kinds

    return core_event_kinds()


@hookimpl
def register_actions():
    from .contact_actions import contact_actions

    return contact_actions()


@hookimpl
def register_admin_menu():
    return [
        AdminMenuItem("dashboard", _l("Dashboard"), "admin.dashboard", order=0),
        AdminMenuItem("contacts", _l("Contacts"), "admin.contacts", order=10),
        AdminMenuItem("fields", _l("Fields"), "fields.index", order=20, roles=("admin", "marketer")),
        AdminMenuItem("plugins", _l("Plugins"), "admin.plugins", order=900, roles=("admin",)),
        AdminMenuItem("users", _l("Users"), "admin.users", order=910, roles=("admin",)),
        AdminMenuItem("api_keys", _l("API keys"), "admin.api_keys", order=920),
        AdminMenuItem("settings", _l("Settings"), "admin.settings_index", order=930, roles=("admin",)),
    ]


@hookimpl
def register_blueprints():
    from .admin.fields import fields_blueprint

    return [fields_blueprint]


def _has_custom_fields() -> bool:
    from .models import CustomField

    return CustomField.select().exists()


@hookimpl
def register_setup_steps():
    return [SetupStep("fields.first", _l("Describe your contacts with fields"), "fields.index", _has_custom_fields,
                      help=_l("Company, job title, interests...: the fields your forms, imports and segments use."),
                      order=20)]


@hookimpl
def register_settings():
    return [
        SettingsGroup(
            "general",
            _l("General"),
            [
                Setting("site_name", _l("Site name"), default="Couvée", help=_l("Shown in the admin and in emails.")),
                Setting("company_name", _l("Company name"), help=_l("Sender identity shown in emails.")),
                Setting("company_address", _l("Postal address"), kind="textarea",
                        help=_l("Required in marketing emails in most countries.")),
                Setting("timezone", _l("Default timezone"), default="Europe/Paris", clean=clean_timezone,
                        help=_l("Times in the admin are shown in it (stored in UTC); send windows use it when a "
                                "contact has no timezone. A name such as Europe/Paris or America/Montreal.")),
                Setting("language", _l("Default language"), kind="choice", default="fr", env="COUVEE_LANGUAGE",
                        choices=language_choices(),
                        help=_l("For contacts without a language, and admins whose browser asks for neither "
                                "French nor English.")),
            ],
        )
    ]


@hookimpl
def register_periodic_jobs():
    from .deferred_writes import drain_deferred_writes
    from .events import sweep_undispatched

    return [PeriodicJob("core.sweep_events", sweep_undispatched, interval=60, queue="events"),
            PeriodicJob("core.drain_deferred_writes", drain_deferred_writes, interval=60)]
