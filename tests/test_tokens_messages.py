"""Signed contact tokens, absolute URLs and the channel-agnostic send_message."""
from __future__ import annotations

import time_machine
import pytest

from core import Message, TokenError, contact_token, external_url, make_token, read_contact_token, read_token, send_message
from core import contacts

from .test_hooks import fixture_plugin, notes  # noqa: F401  (fixture)


def test_token_round_trip_purpose_and_expiry(ctx):
    token = make_token("forms.confirm", {"c": 5, "p": "email"})
    assert read_token("forms.confirm", token, max_age=60) == {"c": 5, "p": "email"}
    with pytest.raises(TokenError):
        read_token("email.unsubscribe", token, max_age=60)  # another purpose
    with pytest.raises(TokenError):
        read_token("forms.confirm", token[:-2] + "xx", max_age=60)  # tampered
    with time_machine.travel("2099-01-01"):
        with pytest.raises(TokenError) as error:
            read_token("forms.confirm", token, max_age=60)
    assert error.value.expired


def test_contact_token_stops_matching_a_changed_address(ctx):
    contact = contacts.create_contact({"email": "ada@example.com"})
    token = contact_token(contact, "email.unsubscribe", m=3)
    found, data = read_contact_token("email.unsubscribe", token, max_age=60)
    assert found.id == contact.id and data["m"] == 3
    contacts.update_contact(contact, {"email": "other@example.com"})
    with pytest.raises(TokenError):
        read_contact_token("email.unsubscribe", token, max_age=60)


def test_external_url_outside_a_request(ctx):
    assert external_url("auth.login") == "http://couvee.test/admin/login"


def test_send_message_without_channel_fails_clearly(ctx):
    result = send_message(Message(to="a@example.com", subject="Hi"), channel="pigeon")
    assert result.status == "failed" and "pigeon" in result.reason


def test_send_message_asks_consent_and_uses_the_channel(fixture_plugin):
    app = fixture_plugin
    with app.app_context(), app.extensions["couvee"].database_connection():
        ok = contacts.create_contact({"email": "ok@example.com"})
        blocked = contacts.create_contact({"email": "x@blocked.test"})
        sent = send_message(Message(to=ok.email, contact=ok, subject="Hi"), channel="fixture")
        vetoed = send_message(Message(to=blocked.email, contact=blocked, subject="Hi"), channel="fixture")
        blank = send_message(Message(to="", subject="Hi"), channel="fixture")
    assert sent.sent
    assert (vetoed.status, vetoed.reason) == ("skipped", "blocked domain (fixture) (couvee_fixture)")
    assert blank.status == "skipped"
    assert len(notes(app, "sent")) == 1
