"""Admin pages: SMS campaigns (write, see the segments and cost before
sending, send, follow progress, pause, resume, cancel). ``/admin/sms``."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from core import audience_groups, roles_required, translation_domain

from . import campaigns, segments
from .models import DRAFT, Campaign

_, _l = translation_domain(__name__).pair()
ngettext = translation_domain(__name__).ngettext
sms_admin = Blueprint("sms", __name__, url_prefix="/admin/sms", static_folder="static")
MAX_BODY = 1600
#: campaign and message states as the pages show them
STATUS_LABELS = {"draft": _l("draft"), "sending": _l("sending"), "sent": _l("sent"), "queued": _l("waiting"),
                 "skipped": _l("skipped"), "failed": _l("failed"), "paused": _l("paused"),
                 "cancelled": _l("cancelled")}


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = Campaign.get_or_none(Campaign.id == campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _read_form() -> tuple[dict, dict]:
    form = {"name": (request.form.get("name") or "").strip(), "body": (request.form.get("body") or "").strip(),
            "segments": []}
    errors = {}
    groups = {group.id for group in audience_groups(campaigns.AUDIENCE)}
    for value in request.form.getlist("segments"):
        try:
            group_id = int(value)
        except ValueError:
            group_id = None
        if group_id not in groups:
            errors["segments"] = _("Unknown segment: %(value)s.", value=value[:20])
            continue
        form["segments"].append(group_id)
    if not form["name"]:
        errors["name"] = _("Give the campaign a name.")
    if not form["body"]:
        errors["body"] = _("Write the text of the message.")
    elif len(form["body"]) > MAX_BODY:
        errors["body"] = _("The text is %(length)d characters long; the maximum is %(maximum)d.",
                           length=len(form["body"]), maximum=MAX_BODY)
    return form, errors


@sms_admin.route("/", methods=["GET", "POST"])
@roles_required("admin", "marketer")
def index():
    form, errors = {"name": "", "body": "", "segments": []}, {}
    if request.method == "POST":
        form, errors = _read_form()
        if not errors:
            campaign = Campaign.create(name=form["name"], body=form["body"], segments=form["segments"])
            flash(_("The campaign was saved: check the cost, then send it."))
            return redirect(url_for("sms.show", campaign_id=campaign.id))
    status = 400 if errors else 200
    return render_template("sms/index.html", campaigns=list(Campaign.select().order_by(Campaign.id.desc())),
                           groups=audience_groups(campaigns.AUDIENCE), form=form, errors=errors,
                           labels=STATUS_LABELS), status


@sms_admin.route("/<int:campaign_id>")
@roles_required("admin", "marketer")
def show(campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    estimate = campaigns.estimate(campaign) if campaign.status == DRAFT else None
    return render_template("sms/show.html", campaign=campaign, estimate=estimate,
                           problems=campaigns.problems(campaign) if campaign.status == DRAFT else [],
                           progress=campaigns.progress(campaign), count=segments.count(campaign.body),
                           groups={g.id: g.name for g in audience_groups(campaigns.AUDIENCE)},
                           labels=STATUS_LABELS)


@sms_admin.route("/<int:campaign_id>/send", methods=["POST"])
@roles_required("admin", "marketer")
def send(campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    problems = campaigns.start(campaign)
    for problem in problems:
        flash(problem, "error")
    if not problems:
        flash(_("Sending started."))
    return redirect(url_for("sms.show", campaign_id=campaign.id))


#: the state changes of a started campaign: function, and the messages when it happened or could not
CONTROLS = {
    "pause": (campaigns.pause, _l("Sending paused: no further message goes out until you resume."),
              _l("Only a campaign being sent can be paused.")),
    "resume": (campaigns.resume, _l("Sending resumed."), _l("Only a paused campaign can be resumed.")),
    "cancel": (campaigns.cancel, _l("Campaign cancelled: the messages not sent yet will not be sent."),
               _l("Only a campaign being sent or paused can be cancelled.")),
}


@sms_admin.route("/<int:campaign_id>/<action>", methods=["POST"])
@roles_required("admin", "marketer")
def control(campaign_id: int, action: str):
    """Pause, resume or cancel a started campaign."""
    if action not in CONTROLS:
        abort(404)
    campaign = _campaign_or_404(campaign_id)
    change, done, refused = CONTROLS[action]
    if change(campaign):
        flash(str(done))
    else:
        flash(str(refused), "error")
    return redirect(url_for("sms.show", campaign_id=campaign.id))


@sms_admin.route("/count")
@roles_required("admin", "marketer")
def count():
    """The segments and cost of ``?text=`` as JSON, for the live counter
    under an SMS text (``static/sms-count.js``); same rules as sending."""
    text = request.args.get("text", "")
    if len(text) > MAX_BODY:
        message = _("The text is %(length)d characters long; the maximum is %(maximum)d.",
                    length=len(text), maximum=MAX_BODY)
        return jsonify({"error": message}), 400
    result = segments.count(text)
    price = campaigns.price_per_segment()
    cost = result.cost(price)
    return jsonify({"encoding": result.encoding, "units": result.units, "segments": result.segments,
                    "per_segment": result.per_segment, "price_per_segment": price, "cost": cost,
                    "label": ngettext("%(num)d segment in %(encoding)s, %(units)d characters; %(cost)s per recipient.",
                                      "%(num)d segments in %(encoding)s, %(units)d characters; %(cost)s per recipient.",
                                      result.segments, encoding=result.encoding, units=result.units,
                                      cost=f"{cost:.4f}".rstrip("0").rstrip(".") if cost else "0")})
