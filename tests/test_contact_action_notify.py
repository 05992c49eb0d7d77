"""Core's "notify a user" action writes to each user in that user's language
(the admin's own setting, else the instance default), with the contact's
details and a link to the contact page; the subject and message a workflow
gives are used as written."""
from __future__ import annotations

from core import auth, contacts
from core.models import User

from .test_email_send import configure


def notify(ctx, contact, **settings):
    action = ctx.extensions["couvee"].registries.actions["notify.user"]
    return action.run(contact, settings, {"key": f"test-{settings.get('user')}"})


def test_the_default_notification_speaks_the_language_of_its_reader(ctx, smtp_sink):
    configure(smtp_sink)
    french = auth.create_user("rep@example.com", "password-rep-1", role="sales", name="Rita")
    english = auth.create_user("sales@example.com", "password-rep-2", role="sales", name="Sam")
    User.update(language="fr").where(User.id == french.id).execute()
    User.update(language="en").where(User.id == english.id).execute()
    ada = contacts.create_contact({"first_name": "Ada", "last_name": "Lovelace"})  # no email address

    notify(ctx, ada, user=str(french.id))
    notify(ctx, ada, user=str(english.id))

    by_reader = {message.envelope_to[0]: message for message in smtp_sink.wait_for(2)}
    in_french = by_reader["rep@example.com"]
    assert in_french["Subject"] == "Contact à suivre : Ada Lovelace"
    text = in_french.get_body(("plain",)).get_content()
    assert "Ada Lovelace a besoin de votre attention." in text and "pas d’adresse email" in text
    assert f"/admin/contacts/{ada.id}" in text
    assert "Ouvrir Ada Lovelace dans Couvée" in in_french.get_body(("html",)).get_content()
    in_english = by_reader["sales@example.com"]
    assert in_english["Subject"] == "Contact to follow up: Ada Lovelace"
    assert "Ada Lovelace needs your attention." in in_english.get_body(("plain",)).get_content()


def test_a_subject_and_message_given_are_used_as_written(ctx, smtp_sink):
    configure(smtp_sink)
    rep = auth.create_user("rep@example.com", "password-rep-1", role="sales", name="Rita")
    User.update(language="fr").where(User.id == rep.id).execute()
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"})

    notify(ctx, ada, user=str(rep.id), subject="Hot lead: {first_name}", message="Call {email} today.")

    (message,) = smtp_sink.wait_for(1)
    assert message["Subject"] == "Hot lead: Ada"
    assert "Call ada@example.com today." in message.get_body(("plain",)).get_content()
