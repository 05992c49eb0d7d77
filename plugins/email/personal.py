"""Personalisation: sandboxed Jinja for user-edited subjects and contents,
and the plain data a template sees about a contact.

Templates only ever get plain dicts and strings (never model objects), in an
immutable sandbox, so a content editor cannot reach the database or Python
internals. Missing values render empty; ``{{ first_name or "there" }}`` gives
a default.
"""
from __future__ import annotations

import hashlib

from flask import current_app
from jinja2 import TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core import Contact, User, get_values, state

EXTENSION_KEY = "email.jinja"


class ContentError(ValueError):
    """A subject or content that does not render; the message is for the user."""


class _Environments:
    """The two sandboxes (HTML autoescaped, subject/text not) and a cache of
    compiled templates, kept per application."""

    def __init__(self):
        self.html = ImmutableSandboxedEnvironment(autoescape=True)
        self.text = ImmutableSandboxedEnvironment(autoescape=False)
        self.cache: dict = {}

    def compile(self, source: str, html: bool):
        key = (html, hashlib.sha256(source.encode()).hexdigest())
        template = self.cache.get(key)
        if template is None:
            env = self.html if html else self.text
            try:
                template = env.from_string(source)
            except TemplateError as error:
                raise ContentError(f"Template error: {error}") from None
            if len(self.cache) > 200:
                self.cache.clear()
            self.cache[key] = template
        return template


def _envs() -> _Environments:
    return current_app.extensions.setdefault(EXTENSION_KEY, _Environments())


def compile_template(source: str, html: bool = True):
    """A compiled sandboxed template (ContentError on a syntax error)."""
    return _envs().compile(source or "", html)


def render(template, context: dict) -> str:
    try:
        return template.render(context)
    except TemplateError as error:
        raise ContentError(f"Template error: {error}") from None
    except Exception as error:  # e.g. a filter applied to the wrong type
        raise ContentError(f"Template error: {type(error).__name__}: {error}") from None


def render_string(source: str, context: dict, html: bool = True) -> str:
    return render(compile_template(source, html), context)


def contact_context(contact: Contact | None, needs_fields: bool = True, needs_owner: bool = True) -> dict:
    """What a template knows about the recipient (empty strings when unknown)."""
    if contact is None:
        return {"first_name": "", "last_name": "", "full_name": "", "name": "", "email": "", "fields": {},
                "owner_name": "", "owner_email": "", "points": 0}
    first, last = contact.first_name or "", contact.last_name or ""
    context = {
        "first_name": first, "last_name": last, "full_name": f"{first} {last}".strip(),
        "name": contact.display_name or "",
        "email": contact.email or "", "points": getattr(contact, "points", 0) or 0,
        "fields": {}, "owner_name": "", "owner_email": "",
    }
    if needs_fields:
        values = get_values(contact)
        context["fields"] = {key: (", ".join(v) if isinstance(v, list) else v) for key, v in values.items()}
    if needs_owner and contact.owner_id:
        owner = User.get_or_none(User.id == contact.owner_id)
        if owner is not None:
            context["owner_name"], context["owner_email"] = owner.name or owner.email, owner.email
    return context


#: the names :func:`contact_context` and the renderer's links fill
OWN_NAMES = frozenset(contact_context(None)) | {"unsubscribe_url", "view_url", "pixel_url"}


def needs(source: str) -> tuple[bool, bool]:
    """(needs custom fields, needs the owner) for these template sources."""
    return "fields" in source, "owner" in source


def compile_expression(source: str):
    """One sandboxed expression (``first_name or "there"``), evaluated by
    :func:`evaluate`; ContentError on a syntax error."""
    try:
        return _envs().html.compile_expression(source, undefined_to_none=False)
    except TemplateError as error:
        raise ContentError(f"Template error: {error}") from None


def evaluate(expression, context: dict):
    """The value of a compiled expression (what ``{{ expression }}`` would print, unescaped)."""
    try:
        return expression(**context)
    except TemplateError as error:
        raise ContentError(f"Template error: {error}") from None
    except Exception as error:
        raise ContentError(f"Template error: {type(error).__name__}: {error}") from None


def foreign_names(*sources: str) -> frozenset:
    """The top-level names these templates use that the email plugin does not
    fill (``content`` for ``{{ content.title }}``): the ones plugins may lend
    through ``email_template_values``. Empty for most templates."""
    names: set = set()
    for source in sources:
        if not source or "{" not in source:
            continue
        try:
            names |= meta.find_undeclared_variables(_envs().text.parse(source))
        except TemplateError as error:
            raise ContentError(f"Template error: {error}") from None
    return frozenset(names - OWN_NAMES - set(_envs().text.globals))


def plugin_values(contact: Contact | None, names: frozenset) -> dict:
    """What the plugins lend for ``names`` and this recipient (``email_template_values``);
    only the names asked, never one the email plugin fills."""
    values: dict = {}
    try:
        answers = state().hooks.results("email_template_values", contact=contact, names=names)
    except Exception as error:  # reported against the plugin by the host; this email is not sent half-filled
        raise ContentError(f"Template error: the values of {', '.join(sorted(names))} could not be computed "
                           f"({type(error).__name__}: {error})") from None
    for answer in answers:
        for key, value in (answer or {}).items():
            if key in names and key not in values:
                values[key] = value
    return values
