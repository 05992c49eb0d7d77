"""Editing a form: validation and changes behind the admin builder.

Every change bumps the form's version (the JS embed always loads the current
one). Rules kept here: a form needs a required email field; a consent box is
never pre-checked on a published form (publishing is refused while one is);
the redirect after submission goes only to one of the form's allowed
origins; a consent box's text is versioned, each text kept for the proof.
"""
from __future__ import annotations

import re

from core import CustomField, Setting, state, translation_domain, utcnow, write_transaction

from . import definition, protection
from .models import HIDDEN_SOURCES, LANGUAGES, PURPOSE_IDS, ConsentBox, ConsentText, Form, FormAction, FormField

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED_NAMES = {definition.HONEYPOT, definition.TOKEN, definition.VISITOR, definition.PAGE_URL, "cv_channel"}
MAX_FILE_MB = 25

_ = translation_domain(__name__).gettext


class BuilderError(ValueError):
    """``errors`` maps an input of the admin form to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\n,]", text or "") if line.strip()]


# --- the form itself -------------------------------------------------------------------


def create_form(name: str, language: str = "fr") -> Form:
    name = (name or "").strip()
    if not name:
        raise BuilderError({"name": _("Give the form a name.")})
    form = Form.create(name=name[:200], language=language if language in dict(LANGUAGES) else "fr")
    FormField.create(form=form.id, name="email", target="email", required=True, position=0,
                     label=definition.native_label("email", form.language))
    return form


def save_settings(form: Form, data) -> Form:
    errors = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = _("Give the form a name.")
    origins, bad = [], []
    for line in _lines(data.get("allowed_origins", "")):
        origin = protection.origin_of(line if "://" in line else "https://" + line)
        (origins if origin else bad).append(origin or line)
    if bad:
        errors["allowed_origins"] = _("Not a site address (https://www.example.com): %(addresses)s",
                                      addresses=", ".join(bad))
    form.allowed_origins = sorted(set(origins))
    redirect_url = (data.get("redirect_url") or "").strip()
    if redirect_url and not protection.redirect_allowed(form, redirect_url):
        errors["redirect_url"] = _("The redirect must go to one of the allowed sites (add its origin above), "
                                   "with an http(s) address.")
    language = data.get("language", "fr") if data.get("language", "fr") in dict(LANGUAGES) else "fr"
    purpose = data.get("doi_purpose", "email_marketing")
    if purpose not in PURPOSE_IDS:
        errors["doi_purpose"] = _("Choose a purpose.")
    if errors:
        raise BuilderError(errors)
    form.name = name[:200]
    form.purpose_text = (data.get("purpose_text") or "").strip()
    form.success_message = (data.get("success_message") or "").strip()
    form.redirect_url = redirect_url
    form.submit_label = (data.get("submit_label") or "").strip()[:100]
    _relabel_native_fields(form, language)
    form.language = language
    form.double_opt_in = data.get("double_opt_in") in ("1", "on", "true")
    form.doi_purpose = purpose
    form.doi_subject = (data.get("doi_subject") or "").strip()[:200]
    form.doi_body = (data.get("doi_body") or "").strip()
    form.allow_plain_html = data.get("allow_plain_html") in ("1", "on", "true")
    form.save()
    form.bump()
    return form


def _relabel_native_fields(form: Form, language: str) -> None:
    """A form changing language: its email / first name / last name fields
    still labelled with the old language's default get the new one's
    (labels the admin wrote are kept)."""
    if language == form.language:
        return
    for field in FormField.select().where((FormField.form == form.id)
                                          & FormField.target.in_(list(definition.NATIVE_TARGETS))):
        if field.label == definition.native_label(field.target, form.language):
            field.label = definition.native_label(field.target, language)
            field.save()


def publish_problems(form: Form) -> list[str]:
    """Why the form cannot be published (empty when it can)."""
    problems = []
    items = definition.inputs(form)
    if not any(item.field.target == "email" for item in items):
        problems.append(_("Add an email field: submissions create or update the contact by email."))
    for item in items:
        if item.type_id == "missing":
            problems.append(_("The field “%(label)s” is mapped to a contact field that no longer exists.",
                              label=item.field.label))
        elif item.widget == "custom" and item.field_type is None:
            problems.append(_("The field “%(label)s” has a type whose plugin is not active.",
                              label=item.field.label))
    for box in definition.consent_boxes(form):
        if box.checked_by_default:
            problems.append(_("The consent box “%(text)s” is pre-checked: consent must be given by ticking "
                              "the box. Untick “checked by default”.", text=box.text[:60]))
    if form.redirect_url and not protection.redirect_allowed(form, form.redirect_url):
        problems.append(_("The redirect address is not on one of the allowed sites."))
    return problems


def publish(form: Form) -> None:
    problems = publish_problems(form)
    if problems:
        raise BuilderError({"publish": " ".join(problems)})
    form.status = "published"
    form.save()
    form.bump()


def unpublish(form: Form) -> None:
    form.status = "draft"
    form.save()
    form.bump()


# --- fields ---------------------------------------------------------------------------------


def _next_position(model, form: Form) -> int:
    last = model.select().where(model.form == form.id).order_by(model.position.desc()).first()
    return (last.position + 1) if last else 0


def add_field(form: Form, target: str, name: str = "") -> FormField:
    """Add an input mapped to ``target`` (a contact field key), or a hidden
    history-only value named ``name`` when ``target`` is empty."""
    targets = dict(definition.target_choices())
    if target:
        if target not in targets:
            raise BuilderError({"target": _("Choose a contact field.")})
        if FormField.select().where((FormField.form == form.id) & (FormField.target == target)).exists():
            raise BuilderError({"target": _("This contact field is already in the form.")})
        name = target
        label = (definition.native_label(target, form.language) if target in definition.NATIVE_TARGETS
                 else CustomField.get(CustomField.key == target).label)
        hidden = False
    else:
        name = (name or "").strip().lower()
        if not NAME.match(name) or name in RESERVED_NAMES or name.startswith("consent_"):
            raise BuilderError({"name": _("Use lowercase letters, digits and _ (e.g. utm_source).")})
        if FormField.select().where((FormField.form == form.id) & (FormField.name == name)).exists():
            raise BuilderError({"name": _("Another field already has this name.")})
        label, hidden = name.replace("_", " ").capitalize(), True
    field = FormField.create(form=form.id, name=name, target=target, label=label, hidden=hidden,
                             required=target == "email", position=_next_position(FormField, form),
                             hidden_source="query" if hidden else "fixed", default=name if hidden else "")
    form.bump()
    return field


def update_field(form: Form, field: FormField, data) -> FormField:
    errors = {}
    label = (data.get("label") or "").strip()
    if not label:
        errors["label"] = _("Give the field a label.")
    source = data.get("hidden_source", "fixed")
    if source not in dict(HIDDEN_SOURCES):
        errors["hidden_source"] = _("Choose where the hidden value comes from.")
    item = definition.resolve(field)
    if item.is_file:
        try:
            megabytes = float((data.get("max_mb") or "5").replace(",", "."))
        except ValueError:
            megabytes = -1
        if not 0 < megabytes <= MAX_FILE_MB:
            errors["max_mb"] = _("Give a size between 0.1 and %(largest)s MB.", largest=MAX_FILE_MB)
        types = [t.lower().lstrip(".") for t in _lines(data.get("allowed_types", ""))]
        unknown = [t for t in types if not re.match(r"^[a-z0-9]{1,10}$", t)]
        if unknown:
            errors["allowed_types"] = _("Not file extensions: %(values)s", values=", ".join(unknown))
    hidden = data.get("hidden") in ("1", "on", "true")
    if field.target == "email" and hidden:
        errors["hidden"] = _("The email cannot be hidden.")
    if errors:
        raise BuilderError(errors)
    field.label = label[:200]
    field.help = (data.get("help") or "").strip()
    field.placeholder = (data.get("placeholder") or "").strip()[:200]
    field.default = (data.get("default") or "").strip()
    # a yes/no question is asked with Yes/No buttons and must be answered: only
    # then may a "No" replace what the contact answered before
    field.yes_no_question = item.type_id == "boolean" and data.get("yes_no_question") in ("1", "on", "true")
    field.required = (field.target == "email" or field.yes_no_question
                      or data.get("required") in ("1", "on", "true"))
    field.hidden = hidden
    field.hidden_source = source
    if item.is_file:
        field.max_bytes = int(megabytes * 1024 * 1024)
        field.allowed_types = types
    field.save()
    form.bump()
    return field


def move(model, form: Form, row, direction: str) -> None:
    """Swap ``row`` with its neighbour (``up``/``down``) and renumber."""
    rows = list(model.select().where(model.form == form.id).order_by(model.position, model.id))
    index = next(i for i, r in enumerate(rows) if r.id == row.id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
    with write_transaction(state().database):
        for position, item in enumerate(rows):
            model.update(position=position).where(model.id == item.id).execute()
    form.bump()


def remove(model, form: Form, row) -> None:
    if model is FormField and row.target == "email":
        raise BuilderError({"fields": _("The email field cannot be removed: contacts are found by email.")})
    row.delete_instance()
    form.bump()


# --- consent boxes -----------------------------------------------------------------------------


def save_consent(form: Form, box: ConsentBox | None, data) -> ConsentBox:
    """Create or edit a box; a new text gets a new version (older texts kept)."""
    errors = {}
    purpose = data.get("purpose", "")
    text = (data.get("text") or "").strip()
    checked = data.get("checked_by_default") in ("1", "on", "true")
    if purpose not in PURPOSE_IDS:
        errors["purpose"] = _("Choose a purpose.")
    if not text:
        errors["text"] = _("Write the text shown next to the box.")
    if checked and form.is_published:
        errors["checked_by_default"] = _("A published form cannot have a pre-checked consent box: consent is "
                                         "given by ticking it.")
    if errors:
        raise BuilderError(errors)
    required = data.get("required") in ("1", "on", "true")
    with write_transaction(state().database):
        if box is None:
            box = ConsentBox.create(form=form.id, purpose=purpose, text=text, version=1, required=required,
                                    checked_by_default=checked, position=_next_position(ConsentBox, form))
            ConsentText.create(box=box.id, version=1, text=text)
        else:
            if text != box.text:
                box.version += 1
                box.text = text
                ConsentText.create(box=box.id, version=box.version, text=text, created_at=utcnow())
            box.purpose, box.required, box.checked_by_default = purpose, required, checked
            box.save()
    form.bump()
    return box


# --- actions -------------------------------------------------------------------------------------


def available_actions() -> list:
    return sorted(state().registries.actions, key=lambda action: action.label)


def read_settings(declared: list[Setting], data) -> tuple[dict, dict]:
    """Values of an action's declared settings from the admin form."""
    values, errors = {}, {}
    for setting in declared:
        raw = data.get(f"s_{setting.key}")
        if setting.kind == "bool":
            values[setting.key] = raw in ("1", "on", "true")
            continue
        text = (raw or "").strip()
        if setting.required and not text:
            errors[setting.key] = _("%(setting)s is required.", setting=setting.label)
            continue
        if setting.kind == "int" and text:
            try:
                values[setting.key] = int(text)
            except ValueError:
                errors[setting.key] = _("%(setting)s must be a whole number.", setting=setting.label)
            continue
        if setting.kind == "choice" and text and setting.choice_list() and \
                text not in {v for v, _label in setting.choice_list()}:
            errors[setting.key] = _("%(setting)s: choose one of the listed values.", setting=setting.label)
            continue
        values[setting.key] = text if text else setting.default
    return values, errors


def add_action(form: Form, action_id: str) -> FormAction:
    if action_id not in state().registries.actions:
        raise BuilderError({"action_id": _("Choose an action.")})
    action = state().registries.actions[action_id]
    defaults = {s.key: s.default for s in action.settings if s.default is not None}
    row = FormAction.create(form=form.id, action_id=action_id, settings=defaults,
                            position=_next_position(FormAction, form))
    form.bump()
    return row


def save_action(form: Form, row: FormAction, data) -> FormAction:
    action = state().registries.actions.get(row.action_id)
    if action is None:
        raise BuilderError({"action_id": _("This action's plugin is not active.")})
    values, errors = read_settings(action.settings, data)
    if errors:
        raise BuilderError(errors)
    row.settings = values
    row.save()
    form.bump()
    return row
