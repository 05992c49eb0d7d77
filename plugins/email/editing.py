"""Validate the newsletter form: errors per field, nothing saved on error."""
from __future__ import annotations

import datetime as dt

from core import audience_groups, normalize_email, translation_domain

from . import formats, window as windows
from .models import AUDIENCE
from .personal import ContentError, compile_template

_ = translation_domain(__name__).gettext
FIELDS = ("name", "subject", "preheader", "content", "content_format", "sender_name", "sender_email", "reply_to")


def form_values(newsletter=None) -> dict:
    """What the form shows for a newsletter (or a new one)."""
    if newsletter is None:
        return {"name": "", "subject": "", "preheader": "", "sender_name": "", "sender_email": "", "reply_to": "",
                "content": formats.starter(), "content_format": formats.DEFAULT,
                "segments": [], "exclusions": [], "track": True,
                "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "",
                "window_days": [], "window_start": "", "window_end": ""}
    values = {name: getattr(newsletter, name) for name in FIELDS}
    window = newsletter.window or {}
    values.update(segments=list(newsletter.segments or []), exclusions=list(newsletter.exclusions or []),
                  track=newsletter.track, window_days=window.get("days", []),
                  window_start=window.get("start", ""), window_end=window.get("end", ""))
    for key in ("source", "medium", "campaign"):
        values[f"utm_{key}"] = (newsletter.utm or {}).get(key, "")
    return values


def valid_email(raw: str | None) -> str | None:
    """The normalised address, or None when it is not one."""
    try:
        return normalize_email(raw)
    except ValueError:
        return None


def _ids(raw: list[str], known: set[int]) -> list[int]:
    ids = []
    for item in raw:
        if str(item).isdigit() and int(item) in known:
            ids.append(int(item))
    return ids


def parse_form(form) -> tuple[dict, dict, dict]:
    """``(model values, form values to re-show, errors)``."""
    shown = {name: (form.get(name) or "").strip() if name != "content" else form.get(name) or "" for name in FIELDS}
    known = {group.id for group in audience_groups(AUDIENCE)}
    shown.update(segments=form.getlist("segments"), exclusions=form.getlist("exclusions"),
                 track=form.get("track") == "on", window_days=form.getlist("window_days"),
                 window_start=form.get("window_start", ""), window_end=form.get("window_end", ""))
    for key in ("source", "medium", "campaign"):
        shown[f"utm_{key}"] = (form.get(f"utm_{key}") or "").strip()
    errors: dict[str, str] = {}
    if not shown["name"]:
        errors["name"] = _("Give the newsletter a name.")
    shown["content_format"] = formats.chosen(form.get("content_format"))
    try:
        compile_template(shown["subject"], html=False)
    except ContentError as error:
        errors["subject"] = str(error)
    if problem := formats.content_error(shown["content"], shown["content_format"]):
        errors["content"] = problem
    for name in ("sender_email", "reply_to"):
        if shown[name] and not valid_email(shown[name]):
            errors[name] = _("This is not a valid email address.")
    values = {name: shown[name] for name in FIELDS}
    values["sender_email"] = valid_email(shown["sender_email"]) or ""
    values["segments"] = _ids(shown["segments"], known)
    values["exclusions"] = [i for i in _ids(shown["exclusions"], known) if i not in values["segments"]]
    values["track"] = shown["track"]
    values["utm"] = {key: shown[f"utm_{key}"] for key in ("source", "medium", "campaign") if shown[f"utm_{key}"]}
    window = {}
    if shown["window_days"] or shown["window_start"] or shown["window_end"]:
        try:
            window = windows.normalize({"days": shown["window_days"] or list(range(7)),
                                        "start": shown["window_start"] or 0, "end": shown["window_end"] or 24})
        except windows.WindowError:
            errors["window"] = _("A send window needs at least one day and a start hour before its end hour.")
        except (TypeError, ValueError):
            errors["window"] = _("Hours are whole numbers from 0 to 24.")
    values["window"] = window
    values["updated_at"] = dt.datetime.now(dt.timezone.utc)
    return values, shown, errors


def parse_when(raw: str, tz_name: str) -> dt.datetime | None:
    """A ``datetime-local`` value in the site timezone, as UTC (ValueError if bad)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    local = dt.datetime.fromisoformat(raw)
    return local.replace(tzinfo=windows.zone(tz_name)).astimezone(dt.timezone.utc)
