"""The image library's pages (``/admin/email/images``: the grid, upload,
alt text, delete) and the public route mail clients fetch images from
(``/e/i/<token>``)."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, send_file, url_for

from core import public, roles_required, stored_path_or_404, translation_domain

from . import images
from .models import EmailImage
from .public import email_public
from .views import EDITORS, email_admin

_ = translation_domain(__name__).gettext
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: a year: an image's file never changes under its token (a new upload gets a new token)
YEAR = 365 * 24 * 3600


def _page(status: int = 200, error: str = "", alt: str = ""):
    return render_template("email/images.html", items=images.library(), error=error, alt=alt,
                           max_size=images.human_size(images.max_bytes())), status


@email_admin.route("/images")
@roles_required(*EDITORS)
def images_page():
    return _page()


@email_admin.route("/images", methods=["POST"])
@roles_required(*EDITORS)
def image_upload():
    try:
        image = images.add_image(request.files.get("file"), request.form.get("alt"))
    except images.ImageError as error:
        return _page(422, str(error), request.form.get("alt", ""))
    flash(_("Image added: paste its snippet in a newsletter."), "ok")
    return redirect(url_for("email_admin.images_page", _anchor=f"image-{image.id}"))


def _image(image_id: int) -> EmailImage:
    return EmailImage.get_or_none(EmailImage.id == image_id) or abort(404)


@email_admin.route("/images/<int:image_id>/alt", methods=["POST"])
@roles_required(*EDITORS)
def image_alt(image_id):
    image = _image(image_id)
    try:
        images.update_alt(image, request.form.get("alt"))
        flash(_("Alt text saved. Newsletters that already show the image keep the text pasted in them."), "ok")
    except images.ImageError as error:
        flash(str(error), "error")
    return redirect(url_for("email_admin.images_page", _anchor=f"image-{image.id}"))


@email_admin.route("/images/<int:image_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def image_delete(image_id):
    image = _image(image_id)
    try:
        images.delete_image(image)
        flash(_("Image deleted."), "ok")
    except images.ImageError as error:
        flash(str(error), "error")
    return redirect(url_for("email_admin.images_page"))


@email_public.route("/i/<token>")
@public
def image(token):
    """An image of the library, for mail clients: its own type, never sniffed,
    cached for a year, nothing else allowed to run or load with it."""
    found = EmailImage.get_or_none(EmailImage.token == token) if _TOKEN.match(token) else None
    if found is None:
        abort(404)
    path = stored_path_or_404(found.file)
    response = send_file(path, mimetype=found.file.content_type, max_age=YEAR, conditional=True)
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response
