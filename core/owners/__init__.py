"""Custom fields admin, contact owners, assignment rules and round robin.

Public API (for the admin, imports, the REST API and plugins through core)::

    from core.owners import assign_owner, available_reps, queue_assign_unowned

- :func:`assign_owner` — rules, then round robin, or a given user; emits
  ``owner_assigned``; returns an :class:`Assignment`.
- :func:`available_reps` — the users round robin picks from.
- :func:`queue_assign_unowned` — the "apply rules to contacts without owner" job.
- :func:`create_field`, :func:`update_field`, :func:`set_archived`,
  :func:`move_field` — custom field management (``/admin/fields``).
"""
from .assignment import (
    Assignment,
    assign_owner,
    assign_unowned_contacts,
    available_reps,
    pool,
    queue_assign_unowned,
    run_assign_action,
)
from .fields_admin import (
    FieldFormError,
    OptionsInUse,
    create_field,
    move_field,
    set_archived,
    set_position,
    slugify,
    update_field,
)
from .models import AssignmentRule, RoundRobinCounter

__all__ = [
    "Assignment", "AssignmentRule", "FieldFormError", "OptionsInUse", "RoundRobinCounter", "assign_owner",
    "assign_unowned_contacts", "available_reps", "create_field", "move_field", "pool", "queue_assign_unowned",
    "run_assign_action", "set_archived", "set_position", "slugify", "update_field",
]
