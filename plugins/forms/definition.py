"""What a form looks like to the people filling it: the list of inputs with
their widget, the consent boxes, the words. The hosted page renders it with
Jinja, the JS embed fetches it as JSON (:func:`as_json`), so both always show
the form's current version.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import CustomField, state, translation_domain

from .models import ConsentBox, Form, FormField
from .texts import strings

_ = translation_domain(__name__).gettext



def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


#: the contact's own fields a form field can fill (English msgids of the forms catalogue)
NATIVE_TARGETS = {"email": N_("Email"), "first_name": N_("First name"), "last_name": N_("Last name")}
#: widgets the hosted page and the JS embed know how to draw; other field
#: types (from plugins) use their own ``render_widget`` or a text input
#: (``boolean`` is a checkbox, ``yes_no`` the same field asked as a required Yes/No question)
WIDGETS = ("email", "text", "boolean", "yes_no", "select", "multiselect", "date", "file")
HONEYPOT = "cv_website"
TOKEN = "cv_token"
VISITOR = "cv_visitor"
PAGE_URL = "cv_page_url"


@dataclass
class Input:
    """One form field with what is needed to draw and parse it."""

    field: FormField
    type_id: str
    custom: Any = None  # the CustomField row for custom targets

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def field_type(self):
        return state().registries.field_types.get(self.type_id)

    @property
    def type_label(self) -> str:
        """The type as the builder names it ("Email", "Single select"...)."""
        if self.type_id == "email":
            return _("Email")
        if self.type_id == "missing":
            return _("missing contact field")
        field_type = self.field_type
        return str(field_type.label) if field_type is not None and field_type.label else self.type_id

    @property
    def widget(self) -> str:
        if self.type_id == "boolean" and self.field.yes_no_question:
            return "yes_no"
        return self.type_id if self.type_id in WIDGETS else "custom"

    @property
    def is_checkbox(self) -> bool:
        """A yes/no field drawn as a checkbox: unticked is no answer, not "No"
        (a hidden yes/no field's fixed value is an answer)."""
        return self.widget == "boolean" and not self.field.hidden

    @property
    def options(self) -> list[str]:
        return [str(o) for o in (self.custom.options or [])] if self.custom is not None else []

    @property
    def is_file(self) -> bool:
        field_type = self.field_type
        return bool(field_type is not None and field_type.is_file)

    @property
    def multiple(self) -> bool:
        field_type = self.field_type
        return bool(field_type is not None and field_type.multi_valued)


def target_choices() -> list[tuple[str, str]]:
    """Contact fields a form field can be mapped to: the native ones, then the
    custom fields (of every type) by position."""
    gettext = translation_domain(__name__).gettext
    choices = [(key, gettext(label)) for key, label in NATIVE_TARGETS.items()]
    for custom in CustomField.select().where(CustomField.archived == False).order_by(  # noqa: E712
        CustomField.position, CustomField.id
    ):
        choices.append((custom.key, f"{custom.label} ({custom.type_id})"))
    return choices


def native_label(target: str, language: str) -> str:
    """The label a new field mapped to a native contact field gets, in the
    form's ``language`` (what the people filling the form read)."""
    return translation_domain(__name__).translations_for(language).gettext(NATIVE_TARGETS[target])


def resolve(field: FormField, customs: dict[str, CustomField] | None = None) -> Input:
    """The type of a form field: ``email`` for the email, ``text`` for names
    and history-only values, the custom field's type otherwise."""
    if field.target == "email":
        return Input(field, "email")
    if field.target in ("first_name", "last_name", ""):
        return Input(field, "text")
    if customs is None:
        custom = CustomField.get_or_none(CustomField.key == field.target)
    else:
        custom = customs.get(field.target)
    if custom is None:
        return Input(field, "missing")
    return Input(field, custom.type_id, custom)


def inputs(form: Form) -> list[Input]:
    customs = {c.key: c for c in CustomField.select()}
    fields = FormField.select().where(FormField.form == form.id).order_by(FormField.position, FormField.id)
    return [resolve(field, customs) for field in fields]


def consent_boxes(form: Form) -> list[ConsentBox]:
    return list(ConsentBox.select().where(ConsentBox.form == form.id).order_by(ConsentBox.position, ConsentBox.id))


def as_json(form: Form, token: str, submit_url: str) -> dict:
    """The definition the JS embed draws (no secret in it; values are text
    the script puts in the page with ``textContent``, never as HTML)."""
    words = strings(form.language)
    fields = []
    for item in inputs(form):
        field = item.field
        fields.append({
            "name": field.name,
            "label": field.label,
            "help": field.help,
            "placeholder": field.placeholder,
            "required": field.required,
            "widget": item.widget if item.widget != "custom" else "text",
            "hidden": field.hidden,
            "source": field.hidden_source if field.hidden else "",
            "default": field.default,
            "options": item.options,
            "accept": ",".join("." + ext for ext in (field.allowed_types or [])) if item.is_file else "",
            "max_bytes": field.max_bytes if item.is_file else None,
        })
    return {
        "key": form.key,
        "version": form.version,
        "name": form.name,
        "language": form.language,
        "purpose_text": form.purpose_text,
        "submit_label": form.submit_label or words["submit"],
        "submit_url": submit_url,
        "token": token,
        "honeypot": HONEYPOT,
        "honeypot_label": words["honeypot"],
        "fields": fields,
        "consents": [
            {"name": f"consent_{box.id}", "purpose": box.purpose, "text": box.text,
             "version": box.version, "required": box.required}
            for box in consent_boxes(form)
        ],
        "strings": {"required": words["required"], "fix_errors": words["fix_errors"], "yes": words["yes"],
                    "no": words["no"]},
    }
