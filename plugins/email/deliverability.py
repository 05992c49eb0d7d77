"""The deliverability panel under Settings → Email: the DKIM key's state
(fingerprint, the DNS record to publish with a copy button), "Generate a
key", "Remove the key", "Check DNS", "Test SMTP connection" and "Check
bounce mailbox". Each
button posts (CSRF) to a route here and comes back to the settings page
with the result in words."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from markupsafe import Markup

from core import get_setting, roles_required, store_setting, translation_domain

from . import dkim, mailbox
from .config import GROUP, load_config
from .testsend import check_connection
from .views import email_admin

_ = translation_domain(__name__).gettext


def _back():
    return redirect(url_for("admin.settings_group", group_id=GROUP))


def key_state(config) -> dict:
    """What the panel shows about the configured key."""
    state = {"stored": bool(config.dkim_private_key), "error": "", "fingerprint": "", "record": None,
             "from_env": False}
    if not state["stored"]:
        return state
    try:
        state["fingerprint"] = dkim.fingerprint(config.dkim_private_key)
        if config.dkim_selector and config.dkim_domain:
            state["record"] = dkim.dns_record(config.dkim_selector, config.dkim_domain, config.dkim_private_key)
    except dkim.DkimKeyError as error:
        state["error"] = str(error)
    return state


def panel() -> Markup:
    config = load_config()
    return Markup(render_template("email/deliverability.html", config=config, key=key_state(config),
                                  suggested_domain=config.sender_domain if config.from_email else ""))


@email_admin.route("/dkim/generate", methods=["POST"])
@roles_required("admin")
def dkim_generate():
    config = load_config()
    if config.dkim_private_key and request.form.get("replace") != "yes":
        flash(_("A key is already stored: confirm that the new key replaces it."), "error")
        return _back()
    store_setting(GROUP, "dkim_private_key", dkim.generate_key())
    if not get_setting(GROUP, "dkim_domain") and config.from_email:
        store_setting(GROUP, "dkim_domain", config.sender_domain)
    if not get_setting(GROUP, "dkim_selector"):
        store_setting(GROUP, "dkim_selector", "couvee1")
    flash(_("A new 2048-bit key is stored. Publish the DNS record shown below before sending: until it is "
            "published, receivers cannot verify the signature."), "ok")
    return _back()


@email_admin.route("/dkim/remove", methods=["POST"])
@roles_required("admin")
def dkim_remove():
    store_setting(GROUP, "dkim_private_key", None)
    flash(_("The DKIM key is removed: messages are no longer signed."), "ok")
    return _back()


@email_admin.route("/dkim/check", methods=["POST"])
@roles_required("admin")
def dkim_check():
    config = load_config()
    if not config.dkim_enabled:
        flash(_("Set the DKIM selector and domain and store a key first."), "error")
        return _back()
    try:
        result = dkim.check_dns(config.dkim_selector, config.dkim_domain, config.dkim_private_key)
    except dkim.DkimKeyError as error:
        flash(_("The stored key cannot be used: %(error)s", error=error), "error")
        return _back()
    flash(result.message, "ok" if result.ok else "error")
    return _back()


@email_admin.route("/smtp-check", methods=["POST"])
@roles_required("admin")
def smtp_check():
    report = check_connection()
    flash(report.message, "ok" if report.ok else "error")
    return _back()


@email_admin.route("/mailbox-check", methods=["POST"])
@roles_required("admin")
def mailbox_check():
    """Log in to the bounce mailbox as the periodic job does and say what happened."""
    try:
        flash(mailbox.check(), "ok")
    except mailbox.MailboxError as error:
        flash(_("Bounce mailbox: %(error)s", error=error), "error")
    return _back()
