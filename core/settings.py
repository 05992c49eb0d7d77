"""Declared settings (``register_settings``): read, write, environment override."""
from __future__ import annotations

import os

from flask import current_app

from .extension import Setting, SettingsGroup
from .models import SettingValue


class SettingError(ValueError):
    pass


def _group(group_id: str) -> SettingsGroup:
    return current_app.extensions["couvee"].registries.settings[group_id]


def _declared(group_id: str, key: str) -> Setting:
    for setting in _group(group_id).settings:
        if setting.key == key:
            return setting
    raise KeyError(f"setting {group_id}.{key} is not declared")


def get_setting(group_id: str, key: str):
    """The value of a declared setting: environment variable, then stored
    value, then the declared default."""
    setting = _declared(group_id, key)
    if setting.env and os.environ.get(setting.env) is not None:
        return coerce(setting, os.environ[setting.env])
    row = SettingValue.get_or_none((SettingValue.group == group_id) & (SettingValue.key == key))
    return row.value if row is not None else setting.default


def store_setting(group_id: str, key: str, value) -> None:
    """Store one declared setting (``None`` deletes the stored value, so the
    default applies), e.g. a key the admin generated:
    ``store_setting("email", "dkim_private_key", pem)``."""
    _declared(group_id, key)
    if value is None:
        SettingValue.delete().where((SettingValue.group == group_id) & (SettingValue.key == key)).execute()
        return
    SettingValue.insert(group=group_id, key=key, value=value).on_conflict(
        conflict_target=[SettingValue.group, SettingValue.key], update={SettingValue.value: value}).execute()


def move_setting(from_group: str, from_key: str, to_group: str, to_key: str) -> bool:
    """Move a stored value when a setting moves (a plugin migration): the
    old row (no longer declared) is copied to the new place unless a value is
    already stored there, then deleted. True when a value was copied, e.g.
    ``move_setting("email", "company", "general", "company_name")``."""
    old = SettingValue.get_or_none((SettingValue.group == from_group) & (SettingValue.key == from_key))
    if old is None:
        return False
    target = SettingValue.get_or_none((SettingValue.group == to_group) & (SettingValue.key == to_key))
    copied = old.value not in (None, "") and (target is None or target.value in (None, ""))
    if copied:
        SettingValue.insert(group=to_group, key=to_key, value=old.value).on_conflict(
            conflict_target=[SettingValue.group, SettingValue.key], update={SettingValue.value: old.value}).execute()
    SettingValue.delete().where((SettingValue.group == from_group) & (SettingValue.key == from_key)).execute()
    return copied


def coerce(setting: Setting, raw):
    """Turn form text into the setting's type, or raise SettingError."""
    if setting.kind == "bool":
        return raw in (True, "1", "on", "true", "yes")
    text = "" if raw is None else str(raw).strip()
    if setting.required and not text:
        raise SettingError(f"{setting.label} is required.")
    if setting.kind == "int":
        if not text:
            return setting.default
        try:
            number = int(text)
        except ValueError:
            raise SettingError(f"{setting.label} must be a whole number.") from None
        text = number
    if setting.kind == "choice" and text and text not in {value for value, _label in setting.choice_list()}:
        raise SettingError(f"{setting.label}: choose one of the listed values.")
    if setting.clean is not None and text not in ("", None):
        try:
            return setting.clean(text)
        except ValueError as error:
            raise SettingError(f"{setting.label}: {error}") from None
    return text


#: the form field that asks to forget a stored secret: ``<key>__remove``
REMOVE_SUFFIX = "__remove"


def save_settings(group_id: str, form) -> list[str]:
    """Validate and store a group's form; return error messages (nothing
    stored if any). A blank secret keeps the stored one; a ticked
    ``<key>__remove`` box deletes it."""
    group = _group(group_id)
    values, errors, removed = {}, [], []
    for setting in group.settings:
        if setting.env and os.environ.get(setting.env) is not None:
            continue
        raw = form.get(setting.key)
        if setting.secret and form.get(setting.key + REMOVE_SUFFIX):
            removed.append(setting.key)
            continue
        if setting.secret and not raw:
            continue
        try:
            values[setting.key] = coerce(setting, raw)
        except SettingError as error:
            errors.append(str(error))
    if errors:
        return errors
    for key, value in values.items():
        SettingValue.insert(group=group_id, key=key, value=value).on_conflict(
            conflict_target=[SettingValue.group, SettingValue.key], update={SettingValue.value: value}
        ).execute()
    if removed:
        SettingValue.delete().where((SettingValue.group == group_id) & SettingValue.key.in_(removed)).execute()
    return []
