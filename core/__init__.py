"""Couvée's core and the stable surface plugins import from.

Plugins use only the names below (never ``core.<module>`` internals that are
not listed here, and never another plugin)::

    from core import hookimpl, Action, Setting, emit, enqueue
    from core import api_operation, api_schema   # a REST endpoint, checked and documented
    from core import translation_domain          # the plugin's gettext domain (docs/i18n.md)
"""
from .app import create_app
from .audience import AudienceCheck, check_audience, contacts_can_receive, skip_reason
from .auth import csrf_exempt, current_user, no_database, public, roles_required
from .contacts import (
    ContactError,
    add_tag,
    can_receive,
    choose_contact,
    create_contact,
    custom_fields,
    delete_contact,
    field_types,
    find_contact,
    get_values,
    normalize_email,
    normalize_tag,
    remove_tag,
    native_fields,
    search_contacts,
    suppressed_emails,
    tags_of,
    update_contact,
)
from .contact_actions import field_choices, user_choices
from .placeholders import fill_tokens
from .contact_export import export_contact
from .bulk import db_value, insert_rows, select_in
from .csv_cells import csv_cell
from .like import escape_like, escaped_like, text_contains, text_ends_with, text_starts_with
from .db import db_proxy, is_sqlite, write_transaction
from .dispatch.memo import batch_collect, batch_memo
from .deferred_writes import WriteOutcome, write_or_defer
from .event_kinds import (
    EventKind, UnknownEventKind, columns_changed_by, counts_as_interaction, data_matches, event_kind_registered, event_kinds,
    interaction_kinds, opposition_kinds, trigger_kinds,
)
from .audience_sources import (
    AudienceUnavailable, add_to_audience, audience_contact_ids, audience_group, audience_groups, audience_memberships,
    audience_source, define_audience,
)
from .erasure import ERASE_MODES, ErasureError, erase_contact
from .events import dispatch_many, emit, emit_many
from .fast_endpoints import FastEndpoint, FastResponse, read_body, request_header
from .extension import (
    Action,
    AdminMenuItem,
    AudienceGroup,
    AudienceSource,
    Command,
    FieldType,
    FieldValueError,
    Gauge,
    Migration,
    PeriodicJob,
    SegmentFilter,
    SendChannel,
    Setting,
    SettingsGroup,
    SetupStep,
    TriggerType,
)
from .fields import BooleanFieldType, DateFieldType
from .fields_admin import FieldFormError, OptionsInUse, create_field, move_field, set_archived, update_field
from .files import DEFAULT_ALLOWED, UnsafePathError, clean_original_name, open_stored, store_upload, stored_path_or_404
from .hookspecs import FAIL_CLOSED, ISOLATED, STRICT, HookPolicy, hookimpl, hookspec, policy
from .i18n import (
    contact_language, default_language, for_contact, format_local, instance_timezone, translation_domain,
    use_contact_language,
    use_language, valid_language,
)
from .local_days import count_per_local_day, local_day_start, local_today
from .messages import Message, SendLater, SendResult, channel_available, send_message, send_test_message
from .models import (
    ROLES, BaseModel, Contact, ContactTag, ContactValue, CustomField, Event, JSONField, StoredFile, Tag, User,
    UTCDateTimeField, utcnow,
)
from .queue import enqueue, work_waiting_elsewhere
from .rest.responses import created as created_json, invalid as invalid_json, json_body, no_content
from .rest import schema as api_schema
from .rest.operation import operation as api_operation
from .settings import get_setting, move_setting, store_setting
from .state import state
from .trigger_renames import rename_trigger_type
from .tokens import TokenError, contact_token, make_token, read_contact_token, read_token
from .version import __version__
from .web import external_url

__all__ = [name for name in dir() if not name.startswith("_")]
