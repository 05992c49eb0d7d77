"""Run log lines shown in the reader's language.

The engine writes each line twice: ``RunLog.message``, the English text (what
the API, older code and the rows written before this column read), and
``RunLog.message_key``, the message id and its parameters as JSON
(``{"msg": "delay over", "params": {}}``). A page translates the key with
this plugin's catalogue at display time, so a French admin reads French even
for a run a worker logged in English. Parameters named ``*_at`` are UTC
instants shown in the instance time zone; ``action`` (an action's id) and
``kind`` (an event kind's name) are shown as their labels. Other parameters (an error raised by another plugin, a reason
given by a step) are shown as stored. A row without a key shows its message.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import current_app

from core import format_local, translation_domain

_, _l = translation_domain(__name__).pair()


def N_(message: str) -> str:
    """Marks ``message`` for extraction; translated when shown."""
    return message


def log_key(msgid: str, **params) -> str:
    """The JSON stored in ``RunLog.message_key`` for ``msgid`` (marked with :func:`N_`)."""
    values = {name: value.isoformat() if isinstance(value, dt.datetime) else
              value if isinstance(value, (int, float)) else str(value) for name, value in params.items()}
    return json.dumps({"msg": msgid, "params": values}, ensure_ascii=False, sort_keys=True)


def _param(name: str, value):
    if name.endswith("_at") and isinstance(value, str):
        try:
            return format_local(dt.datetime.fromisoformat(value), "medium")
        except ValueError:
            return value
    if name == "action" and isinstance(value, str):
        action = current_app.extensions["couvee"].registries.actions.get(value)
        return str(action.label) if action is not None else value
    if name == "kind" and isinstance(value, str):
        kind = current_app.extensions["couvee"].registries.event_kinds.get(value)
        return str(kind.label) if kind is not None else value
    if name == "branch" and value in ("yes", "no"):
        return _("yes") if value == "yes" else _("no")
    return value


def shown(row) -> str:
    """A log row's text in the current language (its stored message when it has no key)."""
    key = getattr(row, "message_key", None)
    if not key:
        return row.message
    try:
        data = json.loads(key)
        params = {name: _param(name, value) for name, value in (data.get("params") or {}).items()}
        return _(data["msg"], **params) if params else _(data["msg"])
    except Exception:  # an unreadable key or a translation missing a parameter: the English text
        return row.message
