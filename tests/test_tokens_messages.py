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


@pytest.mark.parametrize("data", [0, 12345, -5, 2**40, "", "é", [1, 2], [12345, 7], None, True, 1.5,
                                  {"c": 5, "e": "0123456789ab"}, {"ü": ["€", {"x": None}]}, "a" * 80,
                                  list(range(100)), {"c": 5, "e": "x" * 12, "p": "email_marketing"}])
def test_tokens_are_the_serializers_own_format(ctx, data):
    """make_token writes the bytes itsdangerous's URLSafeTimedSerializer
    writes (links sent before keep working, and each reads the other's),
    except that a payload under COMPRESS_FROM bytes is never compressed."""
    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    from core.tokens import COMPRESS_FROM, _JSON

    serializer = URLSafeTimedSerializer(current_app.secret_key, salt="couvee.email.click")
    with time_machine.travel(1765000000.7, tick=False):
        ours, theirs = make_token("email.click", data), serializer.dumps(data)
        assert serializer.loads(ours) == data
        assert read_token("email.click", theirs, max_age=60) == data
    if len(_JSON.encode(data).encode()) >= COMPRESS_FROM or not theirs.startswith("."):
        assert ours == theirs


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
