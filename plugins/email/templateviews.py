"""The template gallery (Newsletters → Templates): the ready-made templates
in French and English, the templates saved from newsletters ("Your
templates"), a live preview of each, "New newsletter from this template",
"Save as template" on a newsletter, rename and delete."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale

from core import roles_required, translation_domain, utcnow

from . import readymade
from .config import load_config
from .models import DRAFT, EmailTemplate, Newsletter
from .personal import ContentError
from .renderer import Renderer
from .views import EDITORS, _newsletter, email_admin

_ = translation_domain(__name__).gettext
#: longest template name kept
NAME_LENGTH = 200


def _admin_language() -> str:
    locale = get_locale()
    language = str(locale.language) if locale else ""
    return language if language in readymade.LANGUAGES else "en"


def _saved(template_id: int) -> EmailTemplate:
    return EmailTemplate.get_or_none(EmailTemplate.id == template_id) or abort(404)


def preview_html(source) -> tuple[str, str]:
    """``(html, error)``: the email a template gives, without contact data."""
    config = load_config()
    try:
        renderer = Renderer(config, subject=source.subject, content=source.content, preheader=source.preheader,
                            track=False, sender_name=config.from_name, language=source.language,
                            content_format=source.content_format)
        return renderer.render(0, None).html, ""
    except ContentError as error:
        return "", str(error)


@email_admin.route("/templates")
@roles_required(*EDITORS)
def gallery():
    language = _admin_language()
    ready = [{"id": template_id, "name": name, "description": description,
              "languages": readymade.LANGUAGES}
             for template_id, (name, description) in readymade.CATALOGUE.items()]
    saved = list(EmailTemplate.select().order_by(EmailTemplate.name, EmailTemplate.id))
    return render_template("email/gallery.html", ready=ready, saved=saved, language=language)


@email_admin.route("/templates/ready/<template_id>/<language>")
@roles_required(*EDITORS)
def ready_preview(template_id, language):
    template = readymade.get(template_id, language) or abort(404)
    html, error = preview_html(template)
    return render_template("email/template_preview.html", template=template, ready=True, html=html, error=error)


@email_admin.route("/templates/<int:template_id>")
@roles_required(*EDITORS)
def saved_preview(template_id):
    template = _saved(template_id)
    html, error = preview_html(template)
    return render_template("email/template_preview.html", template=template, ready=False, html=html, error=error)


@email_admin.route("/templates/use", methods=["POST"])
@roles_required(*EDITORS)
def use_template():
    """A draft newsletter with the chosen template's subject, preheader and content."""
    if request.form.get("saved"):
        try:
            template = _saved(int(request.form["saved"]))
        except ValueError:
            abort(404)
        name = template.name
    else:
        language = request.form.get("language") or _admin_language()
        template = readymade.get(request.form.get("ready", ""), language) or abort(404)
        name = template.name
    now = utcnow()
    newsletter = Newsletter.create(name=name[:255], subject=template.subject, preheader=template.preheader,
                                   content=template.content, content_format=template.content_format,
                                   status=DRAFT, created_at=now, updated_at=now)
    flash(_("Draft newsletter created from the template: choose its audience, adapt the text, then send it."), "ok")
    return redirect(url_for("email_admin.edit", newsletter_id=newsletter.id))


def _name(default: str = "") -> str:
    return " ".join((request.form.get("name") or default).split())[:NAME_LENGTH]


@email_admin.route("/<int:newsletter_id>/save-as-template", methods=["POST"])
@roles_required(*EDITORS)
def save_as_template(newsletter_id):
    newsletter = _newsletter(newsletter_id)
    template = EmailTemplate.create(
        name=_name(newsletter.name) or _("Untitled template"), language=_admin_language(),
        subject=newsletter.subject, preheader=newsletter.preheader, content=newsletter.content,
        content_format=newsletter.content_format, builtin=False)
    flash(_("Saved as the template “%(name)s”: find it in the gallery under Your templates.", name=template.name),
          "ok")
    return redirect(url_for("email_admin.show", newsletter_id=newsletter.id))


@email_admin.route("/templates/<int:template_id>/rename", methods=["POST"])
@roles_required(*EDITORS)
def rename_template(template_id):
    template = _saved(template_id)
    name = _name()
    if not name:
        flash(_("Give the template a name."), "error")
    else:
        EmailTemplate.update(name=name, updated_at=utcnow()).where(EmailTemplate.id == template.id).execute()
        flash(_("Template renamed."), "ok")
    return redirect(url_for("email_admin.saved_preview", template_id=template.id))


@email_admin.route("/templates/<int:template_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def delete_template(template_id):
    template = _saved(template_id)
    template.delete_instance()
    flash(_("Template deleted. Newsletters made from it are unchanged."), "ok")
    return redirect(url_for("email_admin.gallery"))
