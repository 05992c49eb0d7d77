"""The image library: images uploaded once, used in any newsletter.

An image is checked by its content (PNG, JPEG, GIF or WebP magic bytes,
whatever its name says) and its size (the ``image_max_mb`` email setting),
stored by ``core.store_upload`` in the instance's uploads folder under a
random name, and served to mail clients at ``/e/i/<token>`` (public, an
unguessable token per image). Its alt text is required: many mail clients
block images, and screen readers read it.

Example::

    image = add_image(request.files["file"], "Our shop front in spring")
    snippets(image)["mjml"]  # '<mj-image src="https://…/e/i/…" alt="Our shop front in spring" />'
"""
from __future__ import annotations

import html as htmlmod
import logging
import secrets

from flask import current_app
from flask_babel import format_decimal

from core import FieldValueError, UnsafePathError, clean_original_name, external_url, open_stored, store_upload
from core import translation_domain

from .config import load_config
from .models import EmailImage, Newsletter

log = logging.getLogger("couvee.email")
_ = translation_domain(__name__).gettext
#: the extension each image type is stored under, by the first bytes of its content
EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "webp"})
MB = 1024 * 1024


class ImageError(ValueError):
    """An upload or change refused; the message is for the user."""


def sniff(head: bytes) -> str | None:
    """The image type of a file by its first bytes (``png``, ``jpg``, ``gif``, ``webp``), else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def max_bytes() -> int:
    """The largest image accepted: the email setting, within the instance's upload limit."""
    configured = max(1, load_config().image_max_mb) * MB
    return min(configured, current_app.extensions["couvee"].config.max_upload_bytes)


def human_size(size: int) -> str:
    """A file size for people, in the reader's language ("1.5 MB", "1,5 Mo")."""
    if size >= MB:
        return _("%(size)s MB", size=format_decimal(size / MB, format="0.0"))
    return _("%(size)s KB", size=format_decimal(max(1, round(size / 1024))))


def clean_alt(alt: str | None) -> str:
    """The alt text on one line; ImageError when empty."""
    alt = " ".join((alt or "").split())
    if not alt:
        raise ImageError(_("Describe the image in a few words (alt text): mail clients that block images "
                           "and screen readers show it instead."))
    if len(alt) > 300:
        raise ImageError(_("The alt text is a short description: 300 characters at most."))
    return alt


def add_image(upload, alt: str | None) -> EmailImage:
    """Store an uploaded image (a werkzeug ``FileStorage``) with its alt text; ImageError when refused."""
    alt = clean_alt(alt)
    name = clean_original_name(getattr(upload, "filename", "") or "")
    if upload is None or not name:
        raise ImageError(_("Choose an image file to upload."))
    limit = max_bytes()
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise ImageError(_("%(name)s is larger than the %(size)s limit.", name=name, size=human_size(limit)))
    if not data:
        raise ImageError(_("%(name)s is empty.", name=name))
    kind = sniff(data[:16])
    if kind is None:
        raise ImageError(_("%(name)s is not a PNG, JPEG, GIF or WebP image (its content says so, whatever "
                           "its name).", name=name))
    stem, dot, ext = name.rpartition(".")
    if ext.lower() not in ({"jpg", "jpeg"} if kind == "jpg" else {kind}):
        name = f"{stem or name}.{kind}"  # a JPEG named .png is stored as what it is
    try:
        stored = store_upload(data, name, current_app.extensions["couvee"].config.uploads_path, limit, EXTENSIONS)
    except FieldValueError as error:  # already checked above; kept as a safety net
        raise ImageError(str(error)) from None
    return EmailImage.create(token=secrets.token_urlsafe(24), file=stored, alt=alt)


def public_url(image: EmailImage) -> str:
    """The absolute address mail clients fetch the image from."""
    return external_url("email.image", token=image.token)


def snippets(image: EmailImage) -> dict[str, str]:
    """What to paste in a newsletter: ``mjml`` (``<mj-image>``) and ``html`` (``<img>``)."""
    src = htmlmod.escape(public_url(image), quote=True)
    alt = htmlmod.escape(image.alt, quote=True).replace("{", "&#123;").replace("}", "&#125;")
    return {"mjml": f'<mj-image src="{src}" alt="{alt}" />',
            "html": f'<img src="{src}" alt="{alt}" style="max-width:100%;height:auto">'}


def used_by(image: EmailImage) -> list[Newsletter]:
    """The newsletters whose content shows this image."""
    return list(Newsletter.select(Newsletter.id, Newsletter.name, Newsletter.status)
                .where(Newsletter.content.contains(image.token)).order_by(Newsletter.id))


def update_alt(image: EmailImage, alt: str | None) -> None:
    """Change the library's alt text (newsletters keep the text pasted in them)."""
    EmailImage.update(alt=clean_alt(alt)).where(EmailImage.id == image.id).execute()


def delete_image(image: EmailImage) -> None:
    """Delete an image no newsletter uses (ImageError naming them otherwise:
    a sent newsletter still shows it to whoever opens it)."""
    users = used_by(image)
    if users:
        raise ImageError(_("This image is used by %(newsletters)s: remove it from them first (a sent "
                           "newsletter keeps showing it to its readers, so it stays).",
                           newsletters=", ".join(f"“{n.name}”" for n in users)))
    stored = image.file
    image.delete_instance()
    try:
        path = open_stored(stored, current_app.extensions["couvee"].config.uploads_path)
        path.unlink(missing_ok=True)
    except (UnsafePathError, OSError) as error:
        log.warning("image %s: could not remove its file: %s", image.id, error)
    stored.delete_instance()


def library() -> list[dict]:
    """Every image with what the library page shows (newest first)."""
    images = EmailImage.select(EmailImage, EmailImage.file.rel_model).join(EmailImage.file.rel_model) \
        .order_by(EmailImage.created_at.desc(), EmailImage.id.desc())
    return [{"image": image, "url": public_url(image), "size": human_size(image.file.size),
             "name": image.file.original_name, "snippets": snippets(image)} for image in images]
