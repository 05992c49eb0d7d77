"""Erasing and exporting a contact are core's (``core.erase_contact`` /
``core.export_contact``): with the GDPR plugin disabled, deleting a contact from
the admin or the REST API still calls every plugin's ``contact_erase`` and
removes the contact's data, and the export still gathers every plugin's sections."""
from __future__ import annotations

import pytest

from core import add_tag, auth, contacts, emit, export_contact
from core.models import Contact, ContactTag, ContactValue, CustomField, Event
from core.plugins import lifecycle

from .conftest import csrf_of, install_fixture_plugin
from .test_hooks import notes


@pytest.fixture
def without_gdpr(instance, wsgi, ctx):
    install_fixture_plugin(instance)
    wsgi.runtime.state.stale = True
    wsgi.runtime.refresh()
    lifecycle.activate(wsgi.app.extensions["couvee"], "couvee_fixture")
    wsgi.runtime.refresh()
    lifecycle.deactivate(wsgi.app.extensions["couvee"], "gdpr")
    wsgi.runtime.refresh()
    host = wsgi.app.extensions["couvee"].host
    assert not host.is_active("gdpr") and host.is_active("couvee_fixture")
    return wsgi.app


def _ada(app):
    with app.app_context(), app.extensions["couvee"].database_connection():
        CustomField.create(key="city", label="City", type_id="text")
        ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada", "city": "London"})
        add_tag(ada, "webinar", source="test")
        emit(ada, "tag_added", {"tag": "vip"})
        return ada.id


def _traces(app, contact_id):
    with app.app_context(), app.extensions["couvee"].database_connection():
        return {model.__name__: model.select().where(model.contact == contact_id).count()
                for model in (ContactValue, ContactTag, Event)} | {
            "Contact": Contact.select().where(Contact.id == contact_id).count()}


GONE = {"ContactValue": 0, "ContactTag": 0, "Event": 0, "Contact": 0}


def test_admin_delete_without_gdpr_erases_through_every_plugin(without_gdpr, admin):
    contact_id = _ada(without_gdpr)
    assert _traces(without_gdpr, contact_id)["Event"] >= 1
    page = admin.get(f"/admin/contacts/{contact_id}")
    response = admin.post(f"/admin/contacts/{contact_id}/delete", {"csrf_token": csrf_of(page)})
    assert response.status_int == 302
    assert notes(without_gdpr, "erase") == ["delete:ada@example.com"]
    assert _traces(without_gdpr, contact_id) == GONE


def test_api_delete_without_gdpr_erases_through_every_plugin(without_gdpr, web):
    contact_id = _ada(without_gdpr)
    with without_gdpr.app_context(), without_gdpr.extensions["couvee"].database_connection():
        user = auth.create_user("api@example.com", "x" * 12, role="marketer")
        _, key = auth.create_api_key(user, "tests")
    response = web.delete(f"/api/v1/contacts/{contact_id}", headers={"Authorization": f"Bearer {key}"})
    assert response.status_int == 204
    assert notes(without_gdpr, "erase") == ["delete:ada@example.com"]
    assert _traces(without_gdpr, contact_id) == GONE


def test_export_without_gdpr_gathers_core_and_every_plugins_sections(without_gdpr):
    contact_id = _ada(without_gdpr)
    with without_gdpr.app_context(), without_gdpr.extensions["couvee"].database_connection():
        document = export_contact(Contact.get_by_id(contact_id))
    sections = document["sections"]
    assert sections["Contact"][0]["email"] == "ada@example.com"
    assert {"field": "city", "value": "London"} in sections["Custom fields"]
    assert {"tag": "webinar"} in sections["Tags"]
    assert "Fixture notes" in sections and document["contact_id"] == contact_id


def test_pseudonymise_keeps_the_row_and_scrubs_identity(without_gdpr):
    from core import erase_contact

    contact_id = _ada(without_gdpr)
    with without_gdpr.app_context(), without_gdpr.extensions["couvee"].database_connection():
        summary = erase_contact(Contact.get_by_id(contact_id), "pseudonymise")
        kept = Contact.get_by_id(contact_id)
        assert summary == {"mode": "pseudonymise", "contact_id": contact_id, "files": 0}
        assert (kept.email, kept.first_name) == (None, "")
        assert ContactValue.select().where(ContactValue.contact == contact_id).count() == 0
    assert notes(without_gdpr, "erase") == ["pseudonymise:ada@example.com"]


def test_an_unknown_mode_is_refused(without_gdpr):
    from core import ErasureError, erase_contact

    contact_id = _ada(without_gdpr)
    with without_gdpr.app_context(), without_gdpr.extensions["couvee"].database_connection():
        with pytest.raises(ErasureError, match="Unknown erasure mode"):
            erase_contact(Contact.get_by_id(contact_id), "shred")
    assert _traces(without_gdpr, contact_id)["Contact"] == 1
