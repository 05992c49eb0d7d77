"""The email settings are declared once (the fields of ``EmailConfig``): the
settings page is generated from them and ``load_config`` reads what the page
stored, typed like the field."""
from __future__ import annotations

from dataclasses import fields

from plugins.email.config import GROUP, IDENTITY, EmailConfig, load_config, settings_group

SETTINGS = "/admin/settings/email"


def test_every_config_field_is_a_setting_on_the_page_or_a_general_setting(admin):
    declared = [setting.key for setting in settings_group().settings]
    assert declared == [item.name for item in fields(EmailConfig) if item.name not in IDENTITY]
    assert set(IDENTITY.values()) == {"company_name", "company_address"}
    form = admin.get(SETTINGS).forms["settings-form"]
    for key in declared:
        assert key in form.fields, key


def test_values_saved_on_the_settings_page_come_back_typed_in_the_config(admin, ctx):
    form = admin.get(SETTINGS).forms["settings-form"]
    form["smtp_port"] = "2525"
    form["from_email"] = "news@shop.example"
    form["bounce_imap_security"] = "starttls"
    form["workers"] = "5"
    assert load_config().bounce_imap_verify is True
    form["bounce_imap_verify"] = False
    assert "Email settings saved." in form.submit().follow().text
    general = admin.get("/admin/settings/general").forms["settings-form"]
    general["company_name"] = "Shop & Co"
    general["company_address"] = "1 rue de la Paix, Paris"
    general.submit()

    config = load_config()
    assert (config.smtp_port, config.workers) == (2525, 5)
    assert config.from_email == "news@shop.example" and config.sender_domain == "shop.example"
    assert config.bounce_imap_security == "starttls" and config.bounce_imap_verify is False
    assert (config.company, config.postal_address) == ("Shop & Co", "1 rue de la Paix, Paris")
    assert config.smtp_host == "localhost" and config.batch_size == 100  # defaults of the single declaration


def test_the_environment_wins_over_the_stored_value(ctx, monkeypatch):
    from core import store_setting

    store_setting(GROUP, "smtp_host", "stored.example")
    assert load_config().smtp_host == "stored.example"
    monkeypatch.setenv("COUVEE_SMTP_HOST", "env.example")
    monkeypatch.setenv("COUVEE_SMTP_PORT", "587")
    config = load_config()
    assert (config.smtp_host, config.smtp_port) == ("env.example", 587)
