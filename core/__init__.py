"""Couvée's core and the stable surface plugins import from.

Plugins use only the names below (never ``core.<module>`` internals that are
not listed here, and never another plugin)::

    from core import hookimpl, Action, Setting, emit, enqueue
"""
from .app import create_app
from .auth import csrf_exempt, current_user, public, roles_required
from .automation import EntryRefused, runs_of, start_workflow, stop_workflow
from .contacts import (
    ContactError,
    add_tag,
    can_receive,
    create_contact,
    delete_contact,
    get_values,
    normalize_email,
    remove_tag,
    tags_of,
    update_contact,
)
from .db import db_proxy, is_sqlite
from .events import dispatch_many, emit, emit_many  # emit_many, dispatch_many: email (events per batch)
from .extension import (
    Action,
    AdminMenuItem,
    Command,
    FieldType,
    FieldValueError,
    Migration,
    PeriodicJob,
    SegmentFilter,
    SendChannel,
    Setting,
    SettingsGroup,
    TriggerType,
)
from .hookspecs import hookimpl
from .messages import Message, SendResult, channel_available, send_message
from .models import BaseModel, Contact, ContactTag, ContactValue, CustomField, Event, JSONField, Tag, User, UTCDateTimeField, utcnow
from .queue import enqueue
from .rest.responses import invalid as invalid_json, json_body, no_content
from .settings import get_setting
from .segments import Segment, SegmentMember, add_to_segment, segment_members, segments_of  # email (newsletter audiences)
from .state import state
from .tracking import Site as TrackingSite, contact_of_visitor, link_visitor, site_by_key as tracking_site
from .tokens import TokenError, contact_token, make_token, read_contact_token, read_token
from .version import __version__
from .web import external_url
from .files import open_stored  # gdpr: erase a contact's uploaded files
from .models import StoredFile  # gdpr: erase a contact's uploaded files
from .segments import Segment, rebuild as rebuild_segment  # gdpr: the re-opt-in segment
from .files import store_upload  # forms: validated uploads (open_stored, StoredFile: exported above)

__all__ = [name for name in dir() if not name.startswith("_")]
