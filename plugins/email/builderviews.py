"""The block editor's pages: the GrapesJS page of an MJML newsletter
(``/admin/email/<id>/design``), its autosave endpoint, and the image
library as the editor's asset manager sees it (JSON list and upload)."""
from __future__ import annotations

import json

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_time, get_locale

from core import roles_required, translation_domain

from . import builder, formats, images
from .models import EmailImage
from .views import EDITORS, _newsletter, email_admin

_ = translation_domain(__name__).gettext
#: seconds between two autosaves of a changed draft
AUTOSAVE_SECONDS = 5
#: the editor page's policy: GrapesJS draws its canvas in a same-origin iframe it writes into and sets
#: inline styles, and mjml-browser builds the preview with ``new Function`` (hence 'unsafe-eval');
#: scripts still come only from this site, nothing may frame the page, forms post only here.
EDITOR_CSP = ("default-src 'self'; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; "
              "font-src 'self' data:; script-src 'self' 'unsafe-eval'; frame-src 'self' about:; "
              "frame-ancestors 'none'; form-action 'self'; object-src 'none'; base-uri 'self'")


def _asset(image: EmailImage) -> dict:
    """An image as GrapesJS's asset manager lists it (``alt`` is ours: the editor copies it on the image)."""
    return {"type": "image", "src": images.public_url(image), "name": image.file.original_name, "alt": image.alt,
            "id": image.id}


@email_admin.route("/<int:newsletter_id>/design")
@roles_required(*EDITORS)
def design(newsletter_id):
    """The block editor of a draft MJML newsletter (others go to their page or the form)."""
    newsletter = _newsletter(newsletter_id)
    if not newsletter.is_editable:
        flash(_("This newsletter was sent (or is being sent): it can no longer be edited."), "error")
        return redirect(url_for("email_admin.show", newsletter_id=newsletter.id))
    if newsletter.content_format != formats.MJML:
        flash(_("The block editor edits MJML newsletters: this one is written in HTML."), "error")
        return redirect(url_for("email_admin.edit", newsletter_id=newsletter.id))
    settings = {
        "source": builder.editor_source(newsletter), "save": url_for("email_admin.design_save", newsletter_id=newsletter.id),
        "assets": url_for("email_admin.design_images"), "upload": url_for("email_admin.design_upload"),
        "csrf": "", "lang": str(get_locale() or "en")[:2], "every": AUTOSAVE_SECONDS,
        "icons": url_for("email_admin.static", filename="vendor/font-awesome/css/font-awesome.min.css"), "locked": builder.LOCKED,
        "blocks": builder.plugin_blocks(), "words": editor_words(),
    }
    response = render_template("email/design.html", newsletter=newsletter,
                               settings=json.dumps(settings).replace("</", "<\\/"))
    return response, 200, {"Content-Security-Policy": EDITOR_CSP, "X-Frame-Options": "DENY"}


@email_admin.route("/<int:newsletter_id>/design", methods=["POST"])
@roles_required(*EDITORS)
def design_save(newsletter_id):
    """Autosave: the editor's MJML (``mjml``), checked as the form checks it."""
    newsletter = _newsletter(newsletter_id)
    try:
        builder.save_draft(newsletter, request.form.get("mjml", ""))
    except builder.DraftError as error:
        return jsonify(ok=False, error=str(error)), error.status
    return jsonify(ok=True, message=_("Saved at %(time)s", time=format_time(None, "HH:mm")))


@email_admin.route("/design/images")
@roles_required(*EDITORS)
def design_images():
    """The image library as the asset manager lists it."""
    return jsonify(images=[_asset(item["image"]) for item in images.library()])


@email_admin.route("/design/images", methods=["POST"])
@roles_required(*EDITORS)
def design_upload():
    """An upload from the asset manager: the library's checks, alt text required."""
    try:
        image = images.add_image(request.files.get("file"), request.form.get("alt"))
    except images.ImageError as error:
        return jsonify(ok=False, error=str(error)), 422
    return jsonify(ok=True, data=[_asset(image)]), 201


def editor_words() -> dict:
    """Our own sentences in the editor's script, in the admin's language."""
    return {
        "saving": _("Saving…"), "saved": _("Saved"), "unsaved": _("Changes not saved yet"),
        "failed": _("Not saved: %(error)s"), "offline": _("Not saved: the server could not be reached."),
        "alt": _("Describe this image in a few words (alt text, required):"),
        "altMissing": _("An image has no alt text: select it and fill “Alt”. It cannot be sent without one."),
        "locked": _("Added to every email: the “view in browser” link and the footer with the unsubscribe "
                    "link. It cannot be edited here."),
        "code": _("MJML code"), "close": _("Close"), "blocks": _("Blocks"), "layout": _("Layout"),
        "content": _("Content"), "section": _("Section, 1 column"),
        "twoColumns": _("2 columns"), "threeColumns": _("3 columns"), "text": _("Text"), "image": _("Image"),
        "button": _("Button"), "divider": _("Divider"), "social": _("Social links"), "spacer": _("Spacer"),
        "undo": _("Undo"), "redo": _("Redo"), "desktop": _("Desktop"), "mobile": _("Mobile"),
        "assetsTitle": _("Image library"), "upload": _("Drop an image here or click to upload"),
        "addImage": _("Add the image"),
    }
