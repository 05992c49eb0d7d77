"""Helpers shared by the forms tests: build forms with the builder's own
functions, set settings, fill a hosted form like a browser (waiting out the
minimum fill time with time travel, never sleeping)."""
from __future__ import annotations

import time

import time_machine
from webtest import Upload

from core.models import CustomField, SettingValue
from plugins.forms import builder
from plugins.forms.models import Form, FormField


def set_setting(group: str, key: str, value) -> None:
    SettingValue.insert(group=group, key=key, value=value).on_conflict(
        conflict_target=[SettingValue.group, SettingValue.key], update={SettingValue.value: value}).execute()


def make_form(name="Newsletter", origins=(), fields=(), consents=(), publish=True, **settings) -> Form:
    """A form with an email field, the given contact fields (keys, or
    ``(name, None)`` for a hidden history-only value), consent boxes
    (``(purpose, text)``), and settings."""
    language = settings.pop("language", "en")
    form = builder.create_form(name, language)
    values = {"name": name, "allowed_origins": "\n".join(origins), "language": language,
              "doi_purpose": "email_marketing", **settings}
    builder.save_settings(form, values)
    for spec in fields:
        if isinstance(spec, tuple):
            builder.add_field(form, "", spec[0])
        else:
            builder.add_field(form, spec)
    for purpose, text in consents:
        builder.save_consent(form, None, {"purpose": purpose, "text": text})
    if publish:
        builder.publish(form)
    return Form.get_by_id(form.id)


def field_of(form: Form, name: str) -> FormField:
    return FormField.get((FormField.form == form.id) & (FormField.name == name))


def custom(key, type_id, label=None, options=None) -> CustomField:
    return CustomField.create(key=key, label=label or key.replace("_", " ").title(), type_id=type_id,
                              options=options or [])


def later(seconds: float = 10):
    """Travel past the minimum fill time."""
    return time_machine.travel(time.time() + seconds, tick=True)


def open_form(web, form: Form, url_extra: str = ""):
    page = web.get(f"/f/{form.key}{url_extra}")
    return page, page.forms[f"cv-form-{form.key}"]


def submit(web, form: Form, values: dict, files=None, wait: float = 10, status="*", extra_env=None):
    """Open the hosted page, fill ``values`` (lists for several inputs of one
    name), upload ``files`` ({name: (filename, bytes)}), send after ``wait`` s."""
    page, html_form = open_form(web, form)
    for name, value in values.items():
        if isinstance(value, bool):
            html_form[name].checked = value
        elif isinstance(value, list):
            for index, item in enumerate(value):
                html_form.set(name, item, index=index)
        else:
            html_form[name] = value
    for name, (filename, content) in (files or {}).items():
        html_form[name] = Upload(filename, content)
    with later(wait):
        return html_form.submit(status=status, extra_environ=extra_env or {})


def consent_names(html_form) -> list[str]:
    return [name for name in html_form.fields if name and name.startswith("consent_")]
