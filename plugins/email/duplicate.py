"""Duplicate a newsletter: a draft copy ("Copy of …") with its content,
format, subject, audience and settings, whatever the original's state."""
from __future__ import annotations

from flask import flash, redirect, url_for

from core import roles_required, translation_domain, utcnow

from .models import DRAFT, Newsletter
from .views import EDITORS, _newsletter, email_admin

_ = translation_domain(__name__).gettext
#: the send's own state, not copied: the copy is a fresh draft
NOT_COPIED = {"id", "name", "status", "pause_reason", "scheduled_at", "started_at", "finished_at", "total",
              "created_at", "updated_at"}


def duplicate(newsletter: Newsletter) -> Newsletter:
    """A new draft with everything the author set on ``newsletter`` (every
    other column, so an audience or setting added later is copied too)."""
    values = {name: getattr(newsletter, name) for name in Newsletter._meta.fields if name not in NOT_COPIED}
    now = utcnow()
    return Newsletter.create(name=_("Copy of %(name)s", name=newsletter.name)[:255], status=DRAFT,
                             created_at=now, updated_at=now, **values)


@email_admin.route("/<int:newsletter_id>/duplicate", methods=["POST"])
@roles_required(*EDITORS)
def duplicate_newsletter(newsletter_id):
    copy = duplicate(_newsletter(newsletter_id))
    flash(_("Copy created as a draft: edit it, then send it."), "ok")
    return redirect(url_for("email_admin.show", newsletter_id=copy.id))
