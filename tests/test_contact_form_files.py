"""The "New contact" form has a file input for each file field: the document
is checked and stored like any upload (outside static), and nothing is kept
when the form is refused."""
from __future__ import annotations

from core.contacts import get_values
from core.models import Contact, StoredFile

from .test_custom_fields import PDF, add_field, db

NEW = "/admin/contacts/new"


def stored_files(admin) -> list:
    with db(admin) as app:
        uploads = app.extensions["couvee"].config.uploads_path
        on_disk = [p for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
        return list(StoredFile.select()), on_disk


def test_new_contact_form_takes_the_file_of_a_file_field(admin):
    add_field(admin, "Cahier des charges", "file")
    page = admin.get(NEW)
    form = next(f for f in page.forms.values() if "email" in f.fields)
    assert form.enctype == "multipart/form-data"
    assert '<input type="file" name="cahier_des_charges">' in page.text
    form["email"] = "ada@example.com"
    form["cahier_des_charges"] = ("Cahier été.pdf", PDF)
    contact_page = form.submit().follow()
    assert "The contact was created." in contact_page.text and "Cahier été.pdf" in contact_page.text

    with db(admin) as app:
        ada = Contact.get(Contact.email == "ada@example.com")
        file_id = get_values(ada)["cahier_des_charges"]
        stored = StoredFile.get_by_id(int(file_id))
        assert (stored.original_name, stored.content_type) == ("Cahier été.pdf", "application/pdf")
        static = str(app.static_folder)
        assert not str(app.extensions["couvee"].config.uploads_path / stored.path).startswith(static)
    assert admin.get(f"/admin/files/{file_id}").body == PDF


def test_a_refused_file_or_contact_keeps_nothing(admin):
    add_field(admin, "Cahier des charges", "file")
    form = next(f for f in admin.get(NEW).forms.values() if "email" in f.fields)
    form["email"] = "ada@example.com"
    form["cahier_des_charges"] = ("photo.png", b"this is no PNG")
    page = form.submit(status=400)
    assert "is not a real PNG image" in page.text and "Choose the file again." in page.text
    assert stored_files(admin) == ([], [])

    form = next(f for f in page.forms.values() if "email" in f.fields)
    form["email"] = "not an address"
    form["cahier_des_charges"] = ("devis.pdf", PDF)
    page = form.submit(status=400)
    assert "Please correct the fields marked below." in page.text
    assert stored_files(admin) == ([], [])
    with db(admin):
        assert Contact.select().count() == 0


def test_the_new_contact_form_needs_its_csrf_token(admin):
    add_field(admin, "Cahier des charges", "file")
    admin.post(NEW, {"email": "ada@example.com"}, upload_files=[("cahier_des_charges", "devis.pdf", PDF)],
               status=400)
    assert stored_files(admin) == ([], [])
