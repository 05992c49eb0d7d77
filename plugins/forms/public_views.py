"""Public endpoints: the hosted page (also the iframe and the target of the
pasted plain HTML), the JSON submission endpoint and definition for the JS
embed, the embed script, and the double opt-in confirmation page.

They are ``@public`` and ``@csrf_exempt`` by design (integrators' pages on
other sites post to them) and protected otherwise: see :mod:`.protection`.
"""
from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for

from core import TokenError, csrf_exempt, current_user, external_url, public, use_language, utcnow, write_or_defer

from . import definition, optin, protection
from .models import Form, FormField
from .submitting import Meta, Outcome, submit
from .texts import strings

forms_public = Blueprint("forms", __name__, url_prefix="/f")
EMBED_JS = Path(__file__).parent / "static" / "embed.js"
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CHANNELS = ("hosted", "iframe", "html", "js")


def _form(key: str, allow_draft_preview: bool = False) -> Form:
    form = Form.get_or_none(Form.key == key)
    if form is None:
        abort(404)
    if not form.is_published and not (allow_draft_preview and current_user() is not None):
        abort(404)
    return form


def _meta(channel: str) -> Meta:
    visitor = (request.form.get(definition.VISITOR) or "").strip()
    page_url = (request.form.get(definition.PAGE_URL) or "").strip() or (request.referrer or "")
    return Meta(
        ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", "")[:1000],
        page_url=page_url[:2000], channel=channel if channel in CHANNELS else "hosted",
        visitor_id=visitor if VISITOR_ID.match(visitor) else "",
    )


def _body_limit(form: Form) -> int:
    files = FormField.select().where(FormField.form == form.id)
    file_bytes = sum(f.max_bytes for f in files if definition.resolve(f).is_file)
    return protection.TEXT_BODY_BYTES + file_bytes


def _guarded_submit(form: Form, channel: str | None = None) -> Outcome:
    """Rate limit and size checks (before the body is parsed), then
    :func:`submit`; raises Refused. ``channel`` None: the one the form says.
    The errors it finds (core's field types' included) speak the form's language."""
    use_language(form.language)
    protection.check_rate(request.remote_addr or "")
    protection.check_size(request.content_length, _body_limit(form))
    protection.check_inputs(request.form)
    return submit(form, request.form, request.files, _meta(channel or request.form.get("cv_channel", "hosted")))


def _success_target(form: Form) -> str | None:
    if form.redirect_url and protection.redirect_allowed(form, form.redirect_url):
        return form.redirect_url
    return None


def _success_message(form: Form, outcome: Outcome) -> str:
    words = strings(form.language)
    if outcome.opt_in is not None or (outcome.deferred and form.double_opt_in):
        return words["doi_pending"]
    return form.success_message or words["success"]


# --- hosted page, iframe, plain HTML target -----------------------------------------


def _frame_headers(response, form: Form):
    origins = " ".join(sorted(o for o in protection.allowed_origins(form) if o))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'none'; "
        f"object-src 'none'; base-uri 'none'; frame-ancestors 'self' {origins}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _hosted_page(form: Form, status: int = 200, **context):
    embed = request.values.get("embed") == "1"
    page_url = request.referrer if embed else request.url
    use_language(form.language)  # the page around the form speaks the form's language (html lang)
    html = render_template(
        "forms/hosted.html", form=form, items=definition.inputs(form), boxes=definition.consent_boxes(form),
        words=strings(form.language), token=protection.render_token(form), embed=embed,
        action=url_for("forms.hosted", key=form.key, embed="1" if embed else None), page_url=context.pop("page_url", None) or page_url or "",
        query=request.args, referrer=request.referrer or "", channel="iframe" if embed else "hosted",
        **context,
    )
    return _frame_headers(Response(html, status=status), form)


@forms_public.route("/<key>", methods=["GET", "POST"])
@public
@csrf_exempt
def hosted(key):
    form = _form(key, allow_draft_preview=request.method == "GET")
    if request.method == "GET":
        return _hosted_page(form, values={}, errors={})
    try:
        outcome = _guarded_submit(form)
    except protection.Refused as refused:
        return _hosted_page(form, refused.status, values=request.form.to_dict(flat=False) if refused.status != 413
                            else {}, errors={"_form": strings(form.language)[refused.key]})
    if not outcome.ok:
        return _hosted_page(form, 422, values=outcome.values, errors=outcome.errors,
                            page_url=request.form.get(definition.PAGE_URL, ""))
    target = _success_target(form)
    if target and not outcome.spam:
        return redirect(target, code=303)
    return _hosted_page(form, success=_success_message(form, outcome), values={}, errors={})


# --- JS embed ------------------------------------------------------------------------


def _cors(response, form: Form):
    origin = request.headers.get("Origin")
    if origin and protection.origin_allowed(form, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Vary"] = "Origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(form: Form, payload: dict, status: int = 200):
    response = jsonify(payload)
    response.status_code = status
    return _cors(response, form)


def _embedded_form(key: str) -> Form:
    """The published form, for a request from one of its allowed origins
    (else a 403 JSON answer)."""
    form = _form(key)
    if not protection.origin_allowed(form, request.headers.get("Origin")):
        abort(_json(form, {"ok": False, "errors": {"_form": "This site may not use this form."}}, 403))
    return form


@forms_public.route("/<key>/form.json", endpoint="definition")
@public
def definition_json(key):
    form = _embedded_form(key)
    return _json(form, definition.as_json(form, protection.render_token(form),
                                          external_url("forms.submit", key=form.key)))


@forms_public.route("/<key>/submit", methods=["POST", "OPTIONS"], endpoint="submit")
@public
@csrf_exempt
def submit_json(key):
    form = _embedded_form(key)
    if request.method == "OPTIONS":
        return _cors(Response(status=204), form)
    words = strings(form.language)
    try:
        outcome = _guarded_submit(form, "js")
    except protection.Refused as error:
        return _json(form, {"ok": False, "errors": {"_form": words[error.key]}}, error.status)
    if not outcome.ok:
        return _json(form, {"ok": False, "errors": outcome.errors,
                            "token": protection.render_token(form)}, 422)
    return _json(form, {"ok": True, "message": _success_message(form, outcome),
                        "redirect": None if outcome.spam else _success_target(form)})


@forms_public.route("/embed.js")
@public
def embed_js():
    response = Response(EMBED_JS.read_text(), mimetype="application/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@forms_public.route("/form.css", endpoint="stylesheet")
@public
def stylesheet():
    """The forms' default look, from the template ``forms/form.css`` so a
    theme can replace it (docs/forms.md, "Styling")."""
    response = Response(render_template("forms/form.css"), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- double opt-in confirmation ------------------------------------------------------------


def _confirm_page(words, status: int = 200, **context):
    use_language(words["language"])
    return render_template("forms/confirm.html", words=words, **context), status


@forms_public.route("/confirm", methods=["GET", "POST"])
@public
@csrf_exempt  # the signed, expiring token in the form is the protection
def confirm():
    token = request.values.get("t", "")
    try:
        opt_in = optin.read_link(token)
    except TokenError as error:  # the link names no form we can trust: say it in both languages
        key = "link_expired" if error.expired else "link_invalid"
        return _confirm_page(strings("fr"), 410 if error.expired else 400,
                             message=f'{strings("fr")[key]} / {strings("en")[key]}')
    form = opt_in.form
    words = strings(form.language if form else "fr")
    if request.method == "GET":
        if opt_in.status == "confirmed":
            return _confirm_page(words, message=words["already_confirmed"])
        return _confirm_page(words, token=token, text=opt_in.text, email=opt_in.contact.email)
    meta = Meta(ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", "")[:1000])
    written = write_or_defer(optin.confirm_request, opt_in.id, vars(meta), utcnow().isoformat())
    confirmed = written.result if written.done else True  # deferred: a worker confirms it shortly
    return _confirm_page(words, message=words["confirmed" if confirmed else "already_confirmed"])
