"""One token syntax: ``{{ first_name }}``, ``{{ fields.<key> }}``… mean the
same in a newsletter and in a notification (core.fill_tokens), the older
``{name}`` forms of saved notifications still work, unknown tokens stay as
written and no template code from user text is ever run."""
from __future__ import annotations

from core import auth, contacts, fill_tokens
from core.models import CustomField, User

from plugins.email import personal
from tests.test_email_send import configure

TEXT = "Hi {{ first_name }} {{last_name}} ({{ email }}) of {{ fields.company }}, {{ points }} points, {{ name }}"


def notify(ctx, contact, **settings):
    action = ctx.extensions["couvee"].registries.actions["notify.user"]
    return action.run(contact, settings, {"key": "tokens"})


def test_a_notification_and_a_newsletter_resolve_the_same_tokens(ctx, smtp_sink):
    configure(smtp_sink)
    CustomField.create(key="company", label="Company", type_id="text")
    rep = auth.create_user("rep@example.com", "password-rep-1", role="sales", name="Rita")
    User.update(language="en").where(User.id == rep.id).execute()
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
                                   "company": "Analytical"})
    expected = "Hi Ada Lovelace (ada@example.com) of Analytical, 0 points, Ada Lovelace"

    assert fill_tokens(TEXT, ada) == expected
    in_newsletter = personal.render_string(TEXT, personal.contact_context(ada), html=False)
    assert in_newsletter == expected

    notify(ctx, ada, user=str(rep.id), subject="Lead: {{ first_name }}", message=TEXT)
    (message,) = smtp_sink.wait_for(1)
    assert message["Subject"] == "Lead: Ada"
    assert expected in message.get_body(("plain",)).get_content()


def test_the_legacy_single_brace_tokens_still_work(ctx, smtp_sink):
    configure(smtp_sink)
    rep = auth.create_user("rep@example.com", "password-rep-1", role="sales", name="Rita")
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada", "last_name": "L"})
    assert fill_tokens("{name} <{email}> {first_name}/{last_name} {points}", ada) == "Ada L <ada@example.com> Ada/L 0"

    notify(ctx, ada, user=str(rep.id), subject="Hot lead: {first_name}", message="Call {email} today.")
    (message,) = smtp_sink.wait_for(1)
    assert message["Subject"] == "Hot lead: Ada"
    assert "Call ada@example.com today." in message.get_body(("plain",)).get_content()


def test_unknown_tokens_and_code_are_left_as_written(ctx):
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"})
    assert fill_tokens("{{ shoe_size }} {{ fields.nothing }}!", ada) == "{{ shoe_size }} !"
    hostile = "{{ ''.__class__ }} {{ ''.__class__.__mro__[1].__subclasses__() }} {% for x in range(3) %}x{% endfor %}"
    assert fill_tokens(hostile, ada) == hostile
    assert fill_tokens("{{ first_name }}{ {not_a_token} {first_name", ada) == "Ada{ {not_a_token} {first_name"
    assert fill_tokens("", ada) == "" and fill_tokens("no tokens", ada) == "no tokens"


def test_defaults_and_the_owner_as_in_emails(ctx):
    rep = auth.create_user("rep@example.com", "password-rep-1", role="sales", name="Rita")
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"})
    bob = contacts.create_contact({"email": "bob@example.com"})
    from core.models import Contact

    Contact.update(owner=rep.id).where(Contact.id == ada.id).execute()
    ada = Contact.get_by_id(ada.id)
    text = """Hi {{ first_name or "there" }} ({{ last_name or 'no name' }}), {{ owner_name or "nobody" }} {{ owner_email }}"""
    assert fill_tokens(text, ada) == "Hi Ada (no name), Rita rep@example.com"
    assert fill_tokens(text, bob) == "Hi there (no name), nobody "
    for contact in (ada, bob):
        assert fill_tokens(text, contact) == personal.render_string(text, personal.contact_context(contact), html=False)
