"""Admin pages of smart content: dashboard, library (contents, incomplete
ones, feeds), marketing matrix, programme settings, test send and preview,
send log, and the stage override on the contact page."""
from __future__ import annotations

import peewee
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from core import (Contact, FieldValueError, audience_groups, audience_source, enqueue, for_contact, normalize_email,
                  roles_required, translation_domain)

from . import feed_status, library, programme as programme_settings, sender, stats, targeting
from .audience import programme_audience
from .feeds import fetch_feed
from .library import ContentError
from .models import MISSING_LABELS, SOURCE_LABELS, STAGE_LABELS, STAGES, STATUS_LABELS, Content, Feed, Pick
from .picker import pick_for_contact
from .sender import context_for, send_test
from .template import render

pages = Blueprint("smart_content", __name__, url_prefix="/admin/smart-content")
EDITORS = ("admin", "marketer")
PAGE = 50
_ = translation_domain(__name__).gettext


@pages.context_processor
def _labels():
    return {"stages": STAGES, "stage_labels": STAGE_LABELS, "percent": stats.percent, "missing_labels": MISSING_LABELS,
            "source_labels": SOURCE_LABELS, "status_labels": STATUS_LABELS, "pick_reason": sender.explain_reason,
            "feed_status": feed_status.describe}


def _content(content_id: int) -> Content:
    return Content.get_or_none(Content.id == content_id) or abort(404)


def _page() -> int:
    raw = request.args.get("page", "1")
    return max(int(raw), 1) if raw.isdigit() else 1


# --- dashboard -----------------------------------------------------------------------


@pages.route("")
@roles_required(*EDITORS)
def dashboard():
    programme = programme_settings.load()
    series = stats.sends_per_day(30)
    return render_template(
        "smart_content/dashboard.html", programme=programme, closed=programme.closed_reason(),
        chart=stats.bar_chart(series), series=series, counts=stats.status_counts(30),
        waiting_reason=stats.waiting_reason(30),
        per_stage=stats.rates_per_stage(), per_content=stats.rates_per_content(), never=stats.never_picked(),
        content_count=Content.select().count(), incomplete=library.incomplete_query().count(),
    )


# --- contents ------------------------------------------------------------------------


@pages.route("/contents")
@roles_required(*EDITORS)
def contents():
    only_incomplete = request.args.get("show") == "incomplete"
    query = library.incomplete_query() if only_incomplete else Content.select().order_by(
        Content.created_at.desc(), Content.id.desc())
    total = query.count()
    page = _page()
    items = list(query.paginate(page, PAGE))
    return render_template("smart_content/contents.html", items=items, total=total, page=page, per_page=PAGE,
                           tags=library.tags_by_content([c.id for c in items]), only_incomplete=only_incomplete,
                           incomplete_count=library.incomplete_query().count())


def _form_values(content: Content | None) -> dict:
    if content is None:
        return {"title": "", "url": "", "image_url": "", "excerpt": "", "score": "0", "stage": "", "tags": "",
                "active": True}
    tags = library.tags_by_content([content.id])[content.id]
    known = {tag.casefold() for tag in tags}
    proposed = [c for c in content.suggested_tags or [] if c.casefold() not in known]  # the feed's categories
    return {"title": content.title, "url": content.url, "image_url": content.image_url, "excerpt": content.excerpt,
            "score": str(content.score), "stage": content.stage or "", "active": content.active,
            "tags": ", ".join(tags + proposed)}


def _edit(content: Content | None):
    values, errors = _form_values(content), {}
    if request.method == "POST":
        form = request.form
        values = {key: form.get(key, "") for key in ("title", "url", "image_url", "excerpt", "score", "stage", "tags")}
        values["active"] = "1" if form.get("active") else "0"
        try:
            saved = library.save_content(content, values, source="manual")
        except ContentError as error:
            errors = error.errors
        else:
            # the proposed categories were accepted or removed in the tags field: not proposed again
            Content.update(suggested_tags=[]).where(Content.id == saved.id).execute()
            flash(_("Content “%(title)s” saved.", title=saved.title))
            if request.form.get("next") == "incomplete":
                return redirect(url_for("smart_content.contents", show="incomplete"))
            return redirect(url_for("smart_content.contents"))
    return render_template("smart_content/content_form.html", content=content, values=values, errors=errors,
                           next=request.values.get("next", "")), (400 if errors else 200)


@pages.route("/contents/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_content():
    return _edit(None)


@pages.route("/contents/<int:content_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_content(content_id):
    return _edit(_content(content_id))


@pages.route("/contents/<int:content_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def delete_content(content_id):
    content = _content(content_id)
    library.delete_content(content)
    flash(_("Content “%(title)s” deleted.", title=content.title))
    return redirect(url_for("smart_content.contents"))


# --- feeds ---------------------------------------------------------------------------


@pages.route("/feeds", methods=["GET", "POST"])
@roles_required(*EDITORS)
def feeds():
    error, url = "", ""
    if request.method == "POST":
        url = (request.form.get("url") or "").strip()
        if not library.is_web_url(url) or len(url) > 2000:
            error = _("Give the feed's address, starting with http:// or https://.")
        else:
            try:
                feed = Feed.create(url=url, name=(request.form.get("name") or "").strip()[:200])
            except peewee.IntegrityError:
                error = _("This feed is already in the list.")
            else:
                enqueue(fetch_feed, feed.id, queue="low", timeout=120)
                flash(_("Feed added: its items are being fetched."))
                return redirect(url_for("smart_content.feeds"))
    return render_template("smart_content/feeds.html", feeds=list(Feed.select().order_by(Feed.id)),
                           error=error, url=url), (400 if error else 200)


@pages.route("/feeds/<int:feed_id>/fetch", methods=["POST"])
@roles_required(*EDITORS)
def fetch_now(feed_id):
    feed = Feed.get_or_none(Feed.id == feed_id) or abort(404)
    enqueue(fetch_feed, feed.id, queue="low", timeout=120)
    flash(_("Fetching %(feed)s…", feed=feed.name or feed.url))
    return redirect(url_for("smart_content.feeds"))


@pages.route("/feeds/<int:feed_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def delete_feed(feed_id):
    feed = Feed.get_or_none(Feed.id == feed_id) or abort(404)
    feed.delete_instance()
    flash(_("Feed removed; its contents stay in the library."))
    return redirect(url_for("smart_content.feeds"))


# --- matrix, programme, log ------------------------------------------------------------


@pages.route("/matrix")
@roles_required(*EDITORS)
def matrix():
    segments = audience_groups(targeting.AUDIENCE)
    segment = next((s for s in segments if s.id == request.args.get("segment", type=int)), None)
    tags, cells = stats.matrix(segment.id if segment else None)
    return render_template("smart_content/matrix.html", tags=tags, cells=cells, segments=segments,
                           segment=segment, gaps=sum(1 for v in cells.values() if not v))


@pages.route("/programme", methods=["GET", "POST"])
@roles_required(*EDITORS)
def programme():
    current, errors, form = programme_settings.load(), {}, None
    segments = audience_groups(targeting.AUDIENCE)
    source_active = audience_source(targeting.AUDIENCE) is not None
    if request.method == "POST":
        form = request.form
        try:
            current = programme_settings.from_form(form, {s.id for s in segments},
                                                   kept_stage_groups=None if source_active else current.stage_groups)
        except programme_settings.ProgrammeError as error:
            errors = error.errors
        else:
            programme_settings.store(current)
            flash(_("Programme saved. It is enabled.") if current.enabled else _("Programme saved. It is disabled."))
            return redirect(url_for("smart_content.programme"))
    return render_template("smart_content/programme.html", programme=current, errors=errors, form=form,
                           segments=segments, weekdays=programme_settings.WEEKDAY_LABELS,
                           source_active=source_active, group_stages=programme_settings.GROUP_STAGES,
                           audience=programme_audience(current)), (400 if errors else 200)


@pages.route("/log")
@roles_required(*EDITORS)
def send_log():
    query = Pick.select().where(Pick.status != "no_content").order_by(Pick.id.desc())
    if request.args.get("contact_id", "").isdigit():
        query = query.where(Pick.contact == int(request.args["contact_id"]))
    page = _page()
    total = query.count()
    picks = list(query.paginate(page, PAGE))
    return render_template("smart_content/log.html", picks=picks, total=total, page=page, per_page=PAGE)


# --- test send and preview ---------------------------------------------------------------


def _email(raw: str | None) -> str | None:
    try:
        return normalize_email(raw)
    except FieldValueError:
        return None


def _find_contact(raw: str) -> Contact | None:
    raw = (raw or "").strip()
    if raw.isdigit():
        return Contact.get_or_none(Contact.id == int(raw))
    email = _email(raw)
    return Contact.get_or_none(Contact.email == email) if email else None


@pages.route("/test", methods=["GET", "POST"])
@roles_required(*EDITORS)
def test():
    choices = list(Content.select(Content.id, Content.title).order_by(Content.title).limit(1000))
    errors, preview = {}, None
    if request.method == "POST":
        content = Content.get_or_none(Content.id == request.form.get("content_id", type=int))
        address = _email(request.form.get("address"))
        if content is None:
            errors["content_id"] = _("Choose a content.")
        if not address:
            errors["address"] = _("Give a valid email address.")
        if not errors:
            contact = Contact.get_or_none(Contact.email == address)
            result = send_test(content.id, address, contact.id if contact else None)  # the admin sees the answer
            if result.sent:
                flash(_("Test email with “%(title)s”: %(detail)s", title=content.title, detail=result.detail), "ok")
            else:
                flash(_("Test email with “%(title)s” not sent: %(reason)s", title=content.title, reason=result.reason),
                      "error")
            return redirect(url_for("smart_content.test"))
    elif request.args.get("contact"):
        contact = _find_contact(request.args["contact"])
        if contact is None:
            errors["contact"] = _("No contact with this id or email address.")
        else:
            programme = programme_settings.load()
            choice = pick_for_contact(contact, programme, programme.send_date())
            preview = {"contact": contact, "choice": choice,
                       "content": Content.get_or_none(Content.id == choice.content_id) if choice.content_id else None}
    return render_template("smart_content/test.html", contents=choices, errors=errors, preview=preview,
                           form=request.form), (400 if errors else 200)


@pages.route("/preview/<int:contact_id>/<int:content_id>")
@roles_required(*EDITORS)
def preview_email(contact_id, content_id):
    """The rendered email, served sandboxed (shown in an iframe)."""
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    content = _content(content_id)
    settings = programme_settings.load()
    choice = pick_for_contact(contact, settings, settings.send_date())
    why = {"matching_tags": choice.matching_tags, "stage": choice.stage, "score": content.score}
    with for_contact(contact):  # the admin sees what the contact would get
        subject, html = render(settings.template, settings.subject, context_for(contact, content, why))
    response = Response(html, mimetype="text/html")
    # shown in an iframe of the Test page: framing by our own pages only (the admin's default is DENY)
    response.headers["Content-Security-Policy"] = ("sandbox; default-src 'none'; img-src https: http: data:; "
                                                   "style-src 'unsafe-inline'; frame-ancestors 'self'")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["X-Email-Subject"] = subject.encode("ascii", "replace").decode()
    return response


# --- contact page ----------------------------------------------------------------------


@pages.route("/contacts/<int:contact_id>/stage", methods=["POST"])
@roles_required(*EDITORS)
def set_stage(contact_id):
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    stage = request.form.get("stage", "")
    if stage and stage not in STAGES:
        abort(400, description="Unknown stage.")
    targeting.set_stage_override(contact, stage or None)
    flash(_("Stage set to %(stage)s.", stage=STAGE_LABELS[stage]) if stage else _("Stage follows the rules again."))
    return redirect(url_for("admin.contact", contact_id=contact.id))
