"""Tracking in the admin: visits (filters, per-day chart, top pages), sites
(form, snippet) and assets (upload, tracked link)."""
from __future__ import annotations

from peewee import fn
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from core import FieldValueError, current_user, external_url, roles_required, translation_domain

from . import assets as asset_store, reports, script, sites
from .drain import pending_count
from .identify import identify_hash
from .models import Asset, Hit, Site

tracking_admin = Blueprint("tracking", __name__, url_prefix="/admin/tracking")
EDITORS = ("admin", "marketer")
_ = translation_domain(__name__).gettext


def _site(site_id: int) -> Site:
    return Site.get_or_none(Site.id == site_id) or abort(404)


# --- visits ------------------------------------------------------------------


@tracking_admin.route("/visits")
def visits():
    filters, errors = reports.VisitFilters.from_args(request.args)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and int(page) > 0 else 1
    rows, total = reports.visits(filters, page)
    return render_template(
        "tracking/visits.html", rows=rows, total=total, page=page, page_size=reports.PAGE_SIZE,
        filters=filters, errors=errors, chart=reports.bar_chart(reports.per_day(filters)),
        top=reports.top_pages(filters), sites=list(Site.select().order_by(Site.name)),
        site_names=reports.site_names(), pending=pending_count(), args=request.args,
    )


# --- sites -------------------------------------------------------------------


@tracking_admin.route("/sites")
def sites_index():
    counts = dict(Hit.select(Hit.site, fn.COUNT(Hit.id)).group_by(Hit.site).tuples())
    return render_template("tracking/sites.html", sites=list(Site.select().order_by(Site.name)),
                           counts=counts, can_edit=_can_edit())


def _can_edit() -> bool:
    user = current_user()
    return user is not None and user.role in EDITORS


def _read_form(form) -> tuple[dict, dict]:
    values = {"name": form.get("name", "").strip()[:200], "origins": form.get("origins", ""),
              "require_consent": bool(form.get("require_consent")), "honour_dnt": bool(form.get("honour_dnt")),
              "identify_unverified": bool(form.get("identify_unverified")),
              "rate_limit": form.get("rate_limit", "").strip()}
    errors, origins = {}, []
    if not values["name"]:
        errors["name"] = _("Give the site a name.")
    for line in values["origins"].replace(",", "\n").splitlines():
        if line.strip():
            try:
                origin = sites.clean_origin(line)
            except ValueError as error:
                errors["origins"] = str(error)
                break
            if origin not in origins:
                origins.append(origin)
    if not origins and "origins" not in errors:
        errors["origins"] = _("List at least one origin the site is served from, e.g. https://www.example.com.")
    values["allowed_origins"] = origins
    try:
        values["rate_limit"] = int(values["rate_limit"] or 120)
        if not 1 <= values["rate_limit"] <= 100000:
            raise ValueError
    except ValueError:
        errors["rate_limit"] = _("Hits per minute per address: a whole number from 1 to 100000.")
    return values, errors


def _render_form(site, values, errors, status=200):
    return render_template("tracking/site_form.html", site=site, values=values, errors=errors), status


@tracking_admin.route("/sites/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def site_new():
    return _edit(None)


@tracking_admin.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def site_edit(site_id):
    return _edit(_site(site_id))


def _edit(site: Site | None):
    if request.method == "GET":
        values = {"name": site.name if site else "",
                  "origins": "\n".join(site.allowed_origins) if site else "",
                  "require_consent": site.require_consent if site else True,
                  "honour_dnt": site.honour_dnt if site else True,
                  "identify_unverified": site.identify_unverified if site else False,
                  "rate_limit": site.rate_limit if site else 120}
        return _render_form(site, values, {})
    values, errors = _read_form(request.form)
    if errors:
        return _render_form(site, values, errors, 422)
    site = site or Site()
    for key in ("name", "allowed_origins", "require_consent", "honour_dnt", "identify_unverified", "rate_limit"):
        setattr(site, key, values[key])
    site.save()
    sites.publish(site)
    script.forget_built()
    flash(_("Site %(name)s saved.", name=site.name), "success")
    return redirect(url_for("tracking.site_show", site_id=site.id))


@tracking_admin.route("/sites/<int:site_id>")
def site_show(site_id):
    site = _site(site_id)
    user = current_user()
    example = identify_hash(site, "jane@example.com") if user and user.role == "admin" else ""
    return render_template("tracking/site.html", site=site, snippet=script.snippet(site),
                           script_url=external_url("tracking_public.script_latest", key=site.key),
                           hits=Hit.select().where(Hit.site == site.id).count(), can_edit=_can_edit(),
                           show_secret=bool(example), example_hash=example)


@tracking_admin.route("/sites/<int:site_id>/delete", methods=["POST"])
@roles_required("admin")
def site_delete(site_id):
    site = _site(site_id)
    if request.form.get("confirm", "").strip() != site.name:
        flash(_("Type the site's name to delete it with its visits."), "error")
        return redirect(url_for("tracking.site_show", site_id=site.id))
    key, name = site.key, site.name
    site.delete_instance()
    sites.unpublish(key)
    script.forget_built()
    flash(_("Site %(name)s and its visits deleted.", name=name), "success")
    return redirect(url_for("tracking.sites_index"))


# --- assets ------------------------------------------------------------------


@tracking_admin.route("/assets", methods=["GET", "POST"])
def assets():
    error = ""
    if request.method == "POST":
        if not _can_edit():
            abort(403)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("Choose a file to upload.")
        else:
            try:
                created = asset_store.create_asset(request.form.get("title", ""), upload.stream, upload.filename)
            except FieldValueError as refused:
                error = str(refused)
            else:
                flash(_("Asset %(title)s uploaded.", title=created.title), "success")
                return redirect(url_for("tracking.assets"))
    downloads = dict(Hit.select(Hit.asset_id, fn.COUNT(Hit.id)).where(Hit.kind == "download")
                     .group_by(Hit.asset_id).tuples())
    rows = list(Asset.select().order_by(Asset.created_at.desc()))
    links = {a.id: external_url("tracking_public.asset", slug=a.slug) for a in rows}
    return render_template("tracking/assets.html", assets=rows, links=links, downloads=downloads,
                           error=error, can_edit=_can_edit()), (422 if error else 200)


@tracking_admin.route("/assets/<int:asset_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def asset_delete(asset_id):
    found = Asset.get_or_none(Asset.id == asset_id) or abort(404)
    found.delete_instance()
    flash(_("Asset %(title)s deleted.", title=found.title), "success")
    return redirect(url_for("tracking.assets"))
