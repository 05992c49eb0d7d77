"""Turn one posted form into a contact, a submission history, consent proofs
and events.

Order of work: parse every value with its field type (messages come from the
types), check the consent boxes against the exact text version shown, store
uploads only when everything else is valid, then — in one transaction —
create or update the contact by email, insert the submission and each value
(never updating an older row), emit ``consent_given`` per ticked box and
``form_submitted``, and record a double opt-in request. Actions, the visitor
link and the confirmation email run afterwards in worker jobs.

When the database stays busy (another process holds the write lock), the
validated submission is handed to a worker through ``core.write_or_defer``
and the visitor is thanked all the same: a post is never lost to a 500.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field as dc_field

from core import (
    Contact, ContactError, Event, FieldValueError, StoredFile, create_contact, emit, enqueue, event_kind_registered,
    get_values, normalize_email, open_stored, state, store_upload, update_contact, utcnow, valid_language,
    write_or_defer,
    write_transaction,
)

from . import definition, protection
from .models import ConsentBox, ConsentText, Form, OptIn, Submission, SubmittedValue
from .texts import purpose_words, strings

log = logging.getLogger("couvee.forms")

#: what the history shows for a yes/no checkbox left unticked
UNTICKED = "not ticked"
DEFAULT_FILE_TYPES = ("pdf", "png", "jpg", "jpeg", "gif", "webp", "txt", "csv", "doc", "docx", "odt")


@dataclass
class Meta:
    """Where a submission comes from."""

    ip: str = ""
    user_agent: str = ""
    page_url: str = ""
    channel: str = "hosted"  # hosted | iframe | js | html
    visitor_id: str = ""


@dataclass
class Outcome:
    ok: bool
    errors: dict = dc_field(default_factory=dict)  # input name (or "_form") -> message
    values: dict = dc_field(default_factory=dict)  # what was typed, to draw the form again
    submission: Submission | None = None
    opt_in: OptIn | None = None
    spam: bool = False
    #: accepted while the database was busy: a worker writes it shortly
    deferred: bool = False


@dataclass
class _Parsed:
    contact: dict = dc_field(default_factory=dict)  # contact field key -> value
    history: list = dc_field(default_factory=list)  # (input, shown text)
    consents: list = dc_field(default_factory=list)  # (box, ConsentText)
    #: yes/no fields whose checkbox was left unticked: "No" only for a contact without an answer
    unticked: list = dc_field(default_factory=list)
    files: list = dc_field(default_factory=list)  # StoredFile rows stored for this submission


def _raw(item: definition.Input, form_data):
    values = form_data.getlist(item.name)
    if item.multiple or item.type_id == "boolean":
        return values
    return next((v for v in values if v.strip()), values[0] if values else None)


def _blank(raw) -> bool:
    if isinstance(raw, list):
        return not any((v or "").strip() for v in raw)
    return raw is None or not str(raw).strip()


def _parse_one(item: definition.Input, raw):
    """The value to store for one input (None when blank), or FieldValueError."""
    if item.type_id == "email":
        return normalize_email(raw if isinstance(raw, str) else None)
    if item.type_id == "missing":
        raise FieldValueError("This field is no longer available.")
    if item.type_id == "text" and item.custom is None:
        return state().registries.field_types["text"].parse(raw)
    field_type = item.field_type
    if field_type is None:
        raise FieldValueError(f"The field type {item.type_id!r} is not available.")
    if item.is_checkbox:
        # only a tick is an answer: an unticked box (the hidden "0" the widget
        # posts with it) says nothing about what the contact answered before
        return "1" if field_type.parse(raw, item.custom) == "1" else None
    return field_type.parse(raw, item.custom)


def _shown(item: definition.Input, value) -> str:
    if value is None:
        return ""
    field_type = item.field_type
    if field_type is not None and item.custom is not None:
        try:
            return field_type.display(value, item.custom)
        except Exception:  # a plugin's display must not lose the history
            pass
    return ", ".join(value) if isinstance(value, list) else str(value)


def _hidden_value(item: definition.Input, form_data):
    """A fixed hidden value is the configured one (not what the browser sent)."""
    if item.field.hidden_source == "fixed":
        return item.field.default
    return form_data.get(item.name, "")[:2000]


def _unavailable(item: definition.Input) -> bool:
    """The field's contact field or its type's plugin is gone (the form was
    published before): the people filling it are told in the form's language."""
    return item.type_id == "missing" or (item.custom is not None and item.field_type is None)


def parse_submission(form: Form, items, boxes, form_data, files, words) -> tuple[_Parsed, dict, dict]:
    """``(parsed, errors, values kept for a re-render)``; stores no file."""
    parsed, errors, kept = _Parsed(), {}, {}
    for item in items:
        if item.is_file:
            continue
        raw = _hidden_value(item, form_data) if item.field.hidden else _raw(item, form_data)
        kept[item.name] = raw
        if item.field.required and _blank(raw) and not item.field.hidden:
            errors[item.name] = words["required"]
            continue
        try:
            value = _parse_one(item, raw)
        except FieldValueError as error:
            errors[item.name] = words["unavailable"] if _unavailable(item) else str(error)
            continue
        if item.field.required and value is None and not item.field.hidden:
            errors[item.name] = words["required"]
            continue
        if item.field.target and value is not None:
            parsed.contact[item.field.target] = value
        if item.is_checkbox and value is None:
            if item.field.target:
                parsed.unticked.append(item.field.target)
            parsed.history.append((item, UNTICKED))
            continue
        parsed.history.append((item, _shown(item, value)))
    for box in boxes:
        name = f"consent_{box.id}"
        posted = (form_data.get(name) or "").strip()
        kept[name] = posted
        if not posted:
            if box.required:
                errors[name] = words["required"]
            continue
        text = None
        if posted.isdigit():
            text = ConsentText.get_or_none((ConsentText.box == box.id) & (ConsentText.version == int(posted)))
        if text is None:
            errors[name] = words["consent_changed"]
            continue
        parsed.consents.append((box, text))
    email_input = next((item for item in items if item.field.target == "email"), None)
    if email_input is None:
        errors["_form"] = words["no_email_field"]
    elif "email" not in parsed.contact and email_input.name not in errors:
        errors[email_input.name] = words["required"]
    return parsed, errors, kept


def store_files(items, files, parsed: _Parsed, errors: dict, words) -> None:
    """Validate and store the uploads (size, type, content) once every other
    value is valid; on any refusal, remove what this submission stored."""
    uploads = state().config.uploads_path
    for item in items:
        if not item.is_file:
            continue
        upload = files.get(item.name)
        if upload is None or not upload.filename:
            if item.field.required:
                errors[item.name] = words["required"]
            continue
        allowed = item.field.allowed_types or DEFAULT_FILE_TYPES
        try:
            stored = store_upload(upload.stream, upload.filename, uploads, item.field.max_bytes, allowed)
        except FieldValueError as error:
            errors[item.name] = f"{error} {words['file_again']}"
            continue
        parsed.files.append(stored)
        if item.field.target:
            parsed.contact[item.field.target] = str(stored.id)
        parsed.history.append((item, f"{stored.original_name} (file #{stored.id}, {stored.size} bytes)"))
    if errors:
        discard_files(parsed.files)


def discard_files(stored_files) -> None:
    uploads = state().config.uploads_path
    for stored in stored_files:
        try:
            open_stored(stored, uploads).unlink(missing_ok=True)
        except Exception:  # never let clean-up hide the real answer
            log.exception("could not remove refused upload %s", stored.id)
        StoredFile.delete().where(StoredFile.id == stored.id).execute()


def _save_contact(parsed: _Parsed, language: str = "") -> Contact:
    """Create or update the contact; a new contact speaks the form's language
    (what we write to them later: newsletters, privacy pages)."""
    email = parsed.contact["email"]
    contact = Contact.get_or_none(Contact.email == email)
    if contact is None:
        return create_contact({**dict.fromkeys(parsed.unticked, "0"), "language": valid_language(language) or "",
                               **parsed.contact},
                              source="form")
    answered = get_values(contact) if parsed.unticked else {}
    unanswered = {key: "0" for key in parsed.unticked if answered.get(key) in (None, "")}
    update_contact(contact, {**unanswered, **{k: v for k, v in parsed.contact.items() if k != "email"}},
                   source="form")
    return contact


def _contact_errors(error: ContactError, items) -> dict:
    """Map the contact's field keys back to the form's input names."""
    by_target = {item.field.target: item.name for item in items if item.field.target}
    return {by_target.get(key, "_form"): message for key, message in error.errors.items()}


def needs_opt_in(contact: Contact, purpose: str) -> bool:
    """A confirmation is asked unless the person's latest consent decision for
    ``purpose`` is a consent (and no confirmation is still pending)."""
    pending = OptIn.select().where(
        (OptIn.contact == contact.id) & (OptIn.purpose == purpose) & (OptIn.status == "pending")
    ).exists()
    if pending:
        return True
    for event in (Event.select().where((Event.contact == contact.id)
                                       & Event.kind.in_(("consent_given", "consent_withdrawn")))
                  .order_by(Event.created_at.desc(), Event.id.desc())):
        if (event.data or {}).get("purpose") == purpose:
            return event.kind == "consent_withdrawn"
    return True


def consent_proof(purpose: str, text: str, version, source: str, form: Form, meta: Meta, at) -> dict:
    return {
        "purpose": purpose, "text": text, "text_version": str(version), "source": source,
        "form_id": form.id if form else None, "ip": meta.ip, "user_agent": meta.user_agent,
        "at": at.isoformat(), "page_url": meta.page_url,
    }


def _opt_in_for(form: Form, contact: Contact, parsed: _Parsed) -> tuple[str, str] | None:
    """``(text, version)`` the person agrees to by confirming, or None when no
    confirmation is needed."""
    if not form.double_opt_in:
        return None
    box_texts = {box.purpose: text for box, text in parsed.consents}
    has_box = any(box.purpose == form.doi_purpose for box in ConsentBox.select().where(ConsentBox.form == form.id))
    if has_box and form.doi_purpose not in box_texts:
        return None  # the box protecting the purpose was left unticked: nothing to confirm
    if not needs_opt_in(contact, form.doi_purpose):
        return None
    if form.doi_purpose in box_texts:
        text = box_texts[form.doi_purpose]
        return text.text, str(text.version)
    words = strings(form.language)
    wording = words["doi_wording"].format(purpose=purpose_words(form.language, form.doi_purpose),
                                          email=contact.email)
    return wording, f"form-{form.id}-v{form.version}"


def emit_consent(contact, proof: dict) -> None:
    """A consent proof is a ``consent_given`` event, a kind the GDPR plugin
    owns (its ledger records it). While that plugin is inactive the kind is
    not registered: the proof then stays in the submitted values (or the
    opt-in row) only."""
    if event_kind_registered("consent_given"):
        emit(contact, "consent_given", proof, source="forms")


def posted(parsed: _Parsed, meta: Meta, at) -> dict:
    """A validated submission as JSON-like data (what :func:`save_posted`
    writes), so a busy database can hand it to a worker unchanged."""
    plain = {name: value for name, value in vars(parsed).items() if name not in ("history", "consents", "files")}
    return {
        "parsed": plain,
        "history": [[item.name, item.field.label, item.field.target or "", shown] for item, shown in parsed.history],
        "consents": [[box.id, text.id] for box, text in parsed.consents],
        "meta": vars(meta), "at": at.isoformat(),
    }


def save_posted(form_id: int, submitted: dict) -> dict:
    """Write one submission (from :func:`posted`), then queue its actions and
    its confirmation email. Runs in the request, or in a worker when the
    database was busy (``core.write_or_defer``); returns the new row ids."""
    from .jobs import after_submission, send_opt_in

    form = Form.get_by_id(form_id)
    parsed = _Parsed(**submitted["parsed"])
    for box_id, text_id in submitted["consents"]:
        parsed.consents.append((ConsentBox.get_by_id(box_id), ConsentText.get_by_id(text_id)))
    at = dt.datetime.fromisoformat(submitted["at"])
    submission, opt_in = record(form, parsed, submitted["history"], Meta(**submitted["meta"]), at)
    enqueue(after_submission, submission.id, job_id=f"forms-after-{submission.id}", retries=3)
    if opt_in is not None:
        enqueue(send_opt_in, opt_in.id, queue="email", job_id=f"forms-doi-{opt_in.id}", retries=3)
    return {"submission": submission.id, "opt_in": opt_in.id if opt_in else None}


def record(form: Form, parsed: _Parsed, history: list, meta: Meta, now) -> tuple[Submission, OptIn | None]:
    """Write the contact, the history (``[name, label, target, shown]``
    rows), the consents and the events (one transaction). Raises
    ContactError (nothing written) when the contact is refused."""
    with write_transaction(state().database):
        contact = _save_contact(parsed, form.language)
        submission = Submission.create(
            form=form.id, form_name=form.name, form_version=form.version, contact=contact.id,
            page_url=meta.page_url[:2000], ip=meta.ip[:64], user_agent=meta.user_agent[:1000],
            visitor_id=meta.visitor_id, channel=meta.channel, created_at=now,
        )
        rows = [{"submission": submission.id, "contact": contact.id, "name": name, "label": label,
                 "target": target, "value": shown, "created_at": now} for name, label, target, shown in history]
        rows += [{"submission": submission.id, "contact": contact.id, "name": f"consent_{box.id}",
                  "label": f"Consent: {box.purpose}", "target": "", "created_at": now,
                  "value": f"accepted (version {text.version}): {text.text}"} for box, text in parsed.consents]
        if rows:
            SubmittedValue.insert_many(rows).execute()
        opt_in_text = _opt_in_for(form, contact, parsed)
        for box, text in parsed.consents:
            emit_consent(contact, consent_proof(box.purpose, text.text, text.version, "form", form, meta, now))
        emit(contact, "form_submitted", {"form_id": form.id, "form_name": form.name,
                                         "submission_id": submission.id, "page_url": meta.page_url[:2000]},
             source="forms")
        opt_in = None
        if opt_in_text is not None:
            opt_in = OptIn.create(contact=contact.id, form=form.id, submission=submission.id,
                                  purpose=form.doi_purpose, text=opt_in_text[0], text_version=opt_in_text[1],
                                  requested_at=now)
    return submission, opt_in


def submit(form: Form, form_data, files, meta: Meta) -> Outcome:
    """Validate and record one submission (protections other than the
    render token are the views' job: rate, size, origin)."""
    words = strings(form.language)
    if (form_data.get(definition.HONEYPOT) or "").strip():
        return Outcome(ok=True, spam=True)
    items = definition.inputs(form)
    boxes = definition.consent_boxes(form)
    parsed, errors, kept = parse_submission(form, items, boxes, form_data, files, words)
    problem = protection.check_token(form, form_data.get(definition.TOKEN, ""))
    if problem:
        errors["_form"] = words[problem]
    if errors:
        return Outcome(ok=False, errors=_with_summary(errors, words), values=kept)
    store_files(items, files, parsed, errors, words)
    if errors:
        return Outcome(ok=False, errors=_with_summary(errors, words), values=kept)
    try:
        written = write_or_defer(save_posted, form.id, posted(parsed, meta, utcnow()))
    except ContactError as error:
        discard_files(parsed.files)
        return Outcome(ok=False, errors=_with_summary(_contact_errors(error, items), words), values=kept)
    if not written.done:
        return Outcome(ok=True, deferred=True, values=kept)
    opt_in_id = written.result["opt_in"]
    return Outcome(ok=True, submission=Submission.get_by_id(written.result["submission"]),
                   opt_in=OptIn.get_by_id(opt_in_id) if opt_in_id else None, values=kept)


def _with_summary(errors: dict, words) -> dict:
    if "_form" not in errors:
        errors["_form"] = words["fix_errors"]
    return errors
