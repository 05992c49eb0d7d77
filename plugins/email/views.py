"""Newsletters in the admin: list with the overall chart, edit form,
newsletter page (rules, progress, metrics, actions), preview with a chosen
contact's data, test send."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from core import (Contact, audience_groups, audience_source, choose_contact, find_contact, roles_required,
                  translation_domain)

from . import charts, editing, formats, metrics, newsletters, sendlog, tokenmenu
from .config import load_config
from .labels import reason_label, status_label
from .models import DRAFT, FAILED, Newsletter, Send
from .personal import ContentError
from .renderer import Renderer
from .testsend import send_test
from .window import describe

email_admin = Blueprint("email_admin", __name__, url_prefix="/admin/email", static_folder="static")
EDITORS = ("admin", "marketer")
#: failed recipients listed with their reason on a newsletter's page
FAILURES_SHOWN = 50
#: contacts a preview search offers to choose from
MATCHES_SHOWN = 10
_, _l = translation_domain(__name__).pair()
#: the send window's days, Monday first (the form's checkboxes)
DAYS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


@email_admin.context_processor
def labels():
    """What the newsletter pages show for a stored state."""
    return {"status_label": status_label, "reason_label": reason_label}


def _newsletter(newsletter_id: int) -> Newsletter:
    return Newsletter.get_or_none(Newsletter.id == newsletter_id) or abort(404)


@email_admin.route("")
@roles_required(*EDITORS)
def index():
    items = list(Newsletter.select().order_by(Newsletter.created_at.desc(), Newsletter.id.desc()))
    series = metrics.daily(30)
    chart = charts.line_chart(series["days"], {_("Sent"): series["sent"], _("Opened"): series["opens"],
                                               _("Clicked"): series["clicks"],
                                               _("Unsubscribed"): series["unsubscribes"]},
                              title=_("Emails over the last 30 days"))
    return render_template("email/index.html", newsletters=items, chart=chart,
                           totals=metrics.summary(Send.newsletter.is_null(False)) if items else None)


def _segments():
    """The groups a newsletter can target (the ``"segment"`` audience source's)."""
    return audience_groups(newsletters.AUDIENCE)


def _edit(newsletter: Newsletter | None):
    if newsletter is not None and not newsletter.is_editable:
        flash(_("This newsletter was sent (or is being sent): it can no longer be edited."), "error")
        return redirect(url_for("email_admin.show", newsletter_id=newsletter.id))
    values, errors = editing.form_values(newsletter), {}
    if request.method == "POST":
        model_values, values, errors = editing.parse_form(request.form)
        if not errors:
            if newsletter is None:
                newsletter = Newsletter.create(**model_values)
            else:
                Newsletter.update(**model_values).where(Newsletter.id == newsletter.id).execute()
            flash(_("Newsletter saved."), "ok")
            if request.form.get("then") == "design" and model_values["content_format"] == formats.MJML:
                return redirect(url_for("email_admin.design", newsletter_id=newsletter.id))
            return redirect(url_for("email_admin.show", newsletter_id=newsletter.id))
    return render_template("email/form.html", newsletter=newsletter, values=values, errors=errors,
                           segments=_segments(), audience_active=audience_source(newsletters.AUDIENCE) is not None,
                           days=list(enumerate(DAYS)), content_formats=formats.choices(),
                           tokens=tokenmenu.token_choices()), \
        (422 if errors else 200)


@email_admin.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    return _edit(None)


@email_admin.route("/<int:newsletter_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(newsletter_id):
    return _edit(_newsletter(newsletter_id))


@email_admin.route("/<int:newsletter_id>")
@roles_required(*EDITORS)
def show(newsletter_id):
    newsletter = _newsletter(newsletter_id)
    config = load_config()
    verdict = newsletters.check_ready(newsletter, config) if newsletter.is_editable else None
    progress = newsletters.progress(newsletter)
    summary = metrics.newsletter_summary(newsletter.id)
    links = metrics.top_links(newsletter.id)
    skips = sendlog.skipped_by_reason(newsletter.id) if progress["skipped"] else []
    waiting = sendlog.waiting_by_reason(newsletter.id) if progress["pending"] else []
    failures = list(Send.select(Send.to_email, Send.reason).where(
        (Send.newsletter == newsletter.id) & (Send.status == FAILED)).order_by(Send.id).limit(FAILURES_SHOWN))
    names = {group.id: group.name for group in _segments()}
    return render_template(
        "email/newsletter.html", newsletter=newsletter, verdict=verdict, progress=progress, summary=summary,
        progress_bar=charts.progress_bar(progress["percent"]), window=describe(newsletter.window or {}),
        links_chart=charts.bar_chart([(l["url"], l["clicks"]) for l in links], title=_("Top links")) if links else None,
        links=links, failures=failures, skips=skips, waiting=waiting, failures_shown=FAILURES_SHOWN, segment_names=names, refresh=newsletters.in_progress(newsletter), timezone=config.send_timezone,
        rates_chart=charts.bar_chart([(_("Deliverability"), summary["deliverability"]),
                                      (_("Open rate"), summary["open_rate"]), (_("Click rate"), summary["click_rate"]),
                                      (_("Unsubscribe rate"), summary["unsubscribe_rate"])], unit="%",
                                     title=_("Key indicators")) if summary["sent"] else None,
    )


def _act(newsletter_id, action, done: str):
    newsletter = _newsletter(newsletter_id)
    try:
        action(newsletter)
        flash(done, "ok")
    except newsletters.NewsletterError as error:
        flash(str(error), "error")
    return redirect(url_for("email_admin.show", newsletter_id=newsletter_id))


def _confirmed() -> bool:
    """Send and Cancel act only from the confirmation page's button, so they
    work without JavaScript and nobody sends a newsletter by a stray click."""
    return request.form.get("confirmed") == "yes"


@email_admin.route("/<int:newsletter_id>/send", methods=["POST"])
@roles_required(*EDITORS)
def send(newsletter_id):
    newsletter = _newsletter(newsletter_id)
    config = load_config()
    try:
        at = editing.parse_when(request.form.get("at", ""), config.send_timezone)
    except ValueError:
        flash(_("The date and time to send is not valid."), "error")
        return redirect(url_for("email_admin.show", newsletter_id=newsletter_id))
    if not _confirmed():
        return render_template("email/confirm.html", newsletter=newsletter, action="send",
                               at=request.form.get("at", ""), when=at, timezone=config.send_timezone,
                               audience=newsletters.audience_check(newsletter))
    try:
        verdict = newsletters.start(newsletter, at)
    except newsletters.NewsletterError as error:
        flash(str(error), "error")
        return redirect(url_for("email_admin.show", newsletter_id=newsletter_id))
    if verdict.errors:
        flash(_("Not sent: %(problems)s", problems=" ".join(verdict.errors)), "error")
    else:
        flash(_("Scheduled.") if at else _("Sending started."), "ok")
    return redirect(url_for("email_admin.show", newsletter_id=newsletter_id))


@email_admin.route("/<int:newsletter_id>/pause", methods=["POST"])
@roles_required(*EDITORS)
def pause(newsletter_id):
    return _act(newsletter_id, newsletters.pause,
                _("Paused: the batch in progress finishes, then sending stops."))


@email_admin.route("/<int:newsletter_id>/resume", methods=["POST"])
@roles_required(*EDITORS)
def resume(newsletter_id):
    return _act(newsletter_id, newsletters.resume, _("Sending resumed."))


@email_admin.route("/<int:newsletter_id>/cancel", methods=["POST"])
@roles_required(*EDITORS)
def cancel(newsletter_id):
    if not _confirmed():
        newsletter = _newsletter(newsletter_id)
        return render_template("email/confirm.html", newsletter=newsletter, action="cancel",
                               progress=newsletters.progress(newsletter))
    return _act(newsletter_id, newsletters.cancel, _("Cancelled: the remaining recipients will not get it."))


@email_admin.route("/<int:newsletter_id>/unschedule", methods=["POST"])
@roles_required(*EDITORS)
def unschedule(newsletter_id):
    return _act(newsletter_id, newsletters.unschedule, _("Back to draft."))


@email_admin.route("/<int:newsletter_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def delete(newsletter_id):
    newsletter = _newsletter(newsletter_id)
    if newsletter.status != DRAFT:
        flash(_("Only a draft can be deleted (a sent newsletter keeps its statistics)."), "error")
        return redirect(url_for("email_admin.show", newsletter_id=newsletter_id))
    newsletter.delete_instance()
    flash(_("Newsletter deleted."), "ok")
    return redirect(url_for("email_admin.index"))


def _chosen_contact() -> Contact | None:
    return find_contact(request.values.get("contact"))


@email_admin.route("/<int:newsletter_id>/preview")
@roles_required(*EDITORS)
def preview(newsletter_id):
    newsletter = _newsletter(newsletter_id)
    # an id or address, or a name or part of an address: the contacts it finds, to choose from
    contact, matches = choose_contact(request.values.get("contact"), MATCHES_SHOWN)
    config = load_config()
    error, rendered = "", None
    if (request.values.get("contact") or "").strip() and contact is None and not matches:
        error = _("No contact with this id or email: showing the preview without contact data.")
    try:
        renderer = Renderer(config, subject=newsletter.subject, content=newsletter.content,
                            preheader=newsletter.preheader, scope="", utm=newsletter.utm, track=False,
                            sender_name=newsletter.sender_name or config.from_name,
                            content_format=newsletter.content_format)
        rendered = renderer.render(0, contact)
    except ContentError as problem:
        error = str(problem)
    return render_template("email/preview.html", newsletter=newsletter, contact=contact, rendered=rendered,
                           error=error, matches=matches,
                           chosen=(contact.email if contact is not None else "") or request.values.get("contact", ""))


@email_admin.route("/<int:newsletter_id>/test", methods=["POST"])
@roles_required(*EDITORS)
def test_send(newsletter_id):
    newsletter = _newsletter(newsletter_id)
    address = editing.valid_email(request.form.get("address"))
    if not address:
        flash(_("Enter a valid address for the test."), "error")
        return redirect(url_for("email_admin.preview", newsletter_id=newsletter_id,
                                contact=request.form.get("contact", "")))
    contact = _chosen_contact()
    report = send_test(newsletter.id, address, contact.id if contact else None)  # the admin sees the answer
    message = report.message
    if contact and report.ok:
        message = _("%(result)s (with %(email)s's data)", result=report.message, email=contact.email)
    flash(message, "ok" if report.ok else "error")
    return redirect(url_for("email_admin.preview", newsletter_id=newsletter_id, contact=request.form.get("contact", "")))
