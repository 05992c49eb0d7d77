"""The import wizard fills file fields from a .zip holding the CSV and the
files it names (issue 15 item 10 follow-up): checked like uploads, stored in
core's files store, the zip and its unpacked files deleted afterwards;
traversal entries, zip bombs and zips without one CSV refused with a message."""
from __future__ import annotations

import io
import zipfile

from core import get_setting, store_setting
from core.files import open_stored
from plugins.imports.models import ImportJob, ImportRowError
from core.models import Contact, StoredFile

from .conftest import csrf_of
from .test_custom_fields import PDF
from .test_imports import article_fields, contact, get_values  # noqa: F401  (fixture)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
CSV = ("email;Cahier des charges\n"
       "ada@exemple.fr;devis/Cahier Acmé.pdf\n"
       "bob@exemple.fr;photos/bob.png\n"
       "cy@exemple.fr;devis/missing.pdf\n"
       "dee@exemple.fr;\n")


def a_zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            entry = zipfile.ZipInfo(name)  # kept as written, "../x" included
            entry.compress_type = compression
            archive.writestr(entry, data)
    return buffer.getvalue()


def crm_export() -> bytes:
    return a_zip({"export/contacts.csv": CSV.encode(), "devis/Cahier Acmé.pdf": PDF, "photos/bob.png": PNG})


def upload_zip(admin, data: bytes, name: str = "export.zip", status=None):
    form = admin.get("/admin/imports").forms["upload-form"]
    form["file"] = (name, data)
    return form.submit(status=status)


def refusal(admin, data: bytes) -> str:
    """The message the wizard shows for a refused zip (as the user reads it)."""
    return upload_zip(admin, data, status=400).html.get_text()


def leftovers(ctx) -> list[str]:
    """What stays in the folder holding the uploaded CSVs, besides them."""
    folder = ctx.extensions["couvee"].config.uploads_path / "imports"
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".csv")) if folder.exists() else []


def test_a_zip_fills_file_fields_and_reports_a_missing_file_with_its_line(article_fields, admin, ctx,  # noqa: F811
                                                                          run_jobs):
    setup = upload_zip(admin, crm_export()).follow()
    assert "Cahier des charges" in setup.text and "ada@exemple.fr" in setup.text  # the CSV's preview
    assert setup.html.find(id="zip-files-note") is not None
    assert [p for p in leftovers(ctx) if p.endswith(".zip")] == []  # the zip is gone once unpacked
    form = setup.forms["mapping-form"]
    assert form["target_1"].value == "field:spec"
    form["test_only"] = False
    form.submit("action", value="run").follow()
    run_jobs()

    job = ImportJob.get()
    assert (job.status, job.created, job.errors) == ("done", 3, 1)  # the row naming a missing file is reported
    assert job.original_name == "export.zip › contacts.csv"
    [missing] = ImportRowError.select().where(ImportRowError.job == job.id)
    assert missing.line == 4 and 'there is no file "devis/missing.pdf" in the zip' in missing.reason
    assert "devis/missing.pdf" in admin.get(f"/admin/imports/{job.id}/report.csv").text

    pdf = StoredFile.get(StoredFile.original_name == "Cahier Acmé.pdf")
    png = StoredFile.get(StoredFile.original_name == "bob.png")
    assert get_values(contact("ada@exemple.fr")) == {"spec": str(pdf.id)}
    assert get_values(contact("bob@exemple.fr")) == {"spec": str(png.id)}
    assert get_values(contact("dee@exemple.fr")) == {}
    uploads = ctx.extensions["couvee"].config.uploads_path
    assert open_stored(pdf, uploads).read_bytes() == PDF and (pdf.content_type, png.content_type) == (
        "application/pdf", "image/png")
    assert admin.get(f"/admin/files/{pdf.id}").body == PDF  # served by core's files store, behind login
    assert leftovers(ctx) == []  # the unpacked files were deleted after the import

    from plugins.gdpr.erasure import erase

    path = open_stored(pdf, uploads)
    erase(contact("ada@exemple.fr"), "delete")
    assert not path.exists() and StoredFile.get_or_none(StoredFile.id == pdf.id) is None


def test_files_are_checked_like_uploads(article_fields, admin, ctx, run_jobs):  # noqa: F811
    data = a_zip({"contacts.csv": b"email,Cahier des charges\na@exemple.fr,photo.png\nb@exemple.fr,tool.exe\n",
                  "photo.png": b"not a picture", "tool.exe": b"MZ\x90\x00"})
    form = upload_zip(admin, data).follow().forms["mapping-form"]
    form["test_only"] = False
    form.submit("action", value="run").follow()
    run_jobs()
    reasons = [row.reason for row in ImportRowError.select().order_by(ImportRowError.line)]
    assert "is not a real PNG image" in reasons[0] and ".exe files are not accepted" in reasons[1]
    assert StoredFile.select().count() == 0 and leftovers(ctx) == []


def test_a_traversal_entry_refuses_the_zip(article_fields, admin, ctx):  # noqa: F811
    data = a_zip({"contacts.csv": CSV.encode(), "../../evil.pdf": PDF})
    assert '"../../evil.pdf", a path leading out of the zip' in refusal(admin, data)
    absolute = a_zip({"contacts.csv": CSV.encode(), "/etc/cron.d/evil": b"* * * * * root sh"})
    assert "a path leading out of the zip" in refusal(admin, absolute)
    assert ImportJob.select().count() == 0 and Contact.select().count() == 0 and leftovers(ctx) == []


def test_zip_bombs_and_zips_without_one_csv_are_refused(admin, ctx):
    store_setting("imports", "archive_max_megabytes", 2)
    bomb = a_zip({"contacts.csv": b"email\na@exemple.fr\n", "zeros.pdf": b"\x00" * (8 * 1024 * 1024)})
    assert len(bomb) < 100 * 1024
    assert "unpacks to more than 2 MB" in refusal(admin, bomb)

    store_setting("imports", "archive_max_files", 3)
    many = a_zip({"contacts.csv": b"email\na@exemple.fr\n", **{f"f{i}.pdf": PDF for i in range(5)}})
    assert "holds 6 entries; at most 3" in refusal(admin, many)
    assert "holds no CSV file" in refusal(admin, a_zip({"a.pdf": PDF}))
    two = a_zip({"a.csv": b"email\na@x.fr\n", "b.csv": b"email\nb@x.fr\n"})
    assert "holds 2 CSV files (a.csv, b.csv)" in refusal(admin, two)
    assert "not a readable zip" in refusal(admin, b"PK\x03\x04 broken")
    assert ImportJob.select().count() == 0 and leftovers(ctx) == []



def test_the_zip_limits_are_the_imports_plugins_settings(admin, ctx, monkeypatch):
    """Declared by the plugin (not core's config): 1,000 entries and 500 MB by
    default, set on its settings page or by environment variable."""
    assert get_setting("imports", "archive_max_files") == 1000
    assert get_setting("imports", "archive_max_megabytes") == 500
    form = admin.get("/admin/settings/imports").forms["settings-form"]
    form["archive_max_files"] = "0"
    page = form.submit(expect_errors=True)
    assert "use a whole number of 1 or more" in page.text
    assert get_setting("imports", "archive_max_files") == 1000  # nothing stored
    monkeypatch.setenv("COUVEE_IMPORT_ARCHIVE_MAX_FILES", "2")
    many = a_zip({"contacts.csv": b"email\na@exemple.fr\n", "a.pdf": PDF, "b.pdf": PDF})
    assert "holds 3 entries; at most 2" in refusal(admin, many)

def test_a_zip_whose_sizes_lie_is_stopped_while_unpacking(admin, ctx):
    """A zip can declare small sizes and hold more: the real bytes are counted."""
    store_setting("imports", "archive_max_megabytes", 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("contacts.csv", b"email\na@exemple.fr\n")
        archive.writestr("big.pdf", b"\x00" * (3 * 1024 * 1024))
    data = bytearray(buffer.getvalue())
    _declare_size(data, "big.pdf", 100)
    said = refusal(admin, bytes(data))
    # Python's zipfile stops at the declared size and finds the checksum wrong;
    # our own count of the real bytes would stop it otherwise
    assert "zip bomb" in said or "The zip is damaged" in said
    assert ImportJob.select().count() == 0 and leftovers(ctx) == []


def _declare_size(data: bytearray, name: str, size: int) -> None:
    """Overwrite the uncompressed size the zip's central directory declares for ``name``."""
    encoded = name.encode()
    offset = data.find(b"PK\x01\x02")
    while offset != -1:
        name_length = int.from_bytes(data[offset + 28:offset + 30], "little")
        if bytes(data[offset + 46:offset + 46 + name_length]) == encoded:
            data[offset + 24:offset + 28] = size.to_bytes(4, "little")
            return
        offset = data.find(b"PK\x01\x02", offset + 4)
    raise AssertionError(f"{name} not found")


def test_a_test_run_keeps_the_files_for_the_full_import(article_fields, admin, ctx, run_jobs):  # noqa: F811
    setup = upload_zip(admin, crm_export()).follow()
    form = setup.forms["mapping-form"]
    form["test_only"] = True
    form["test_rows"] = "1"
    shown = form.submit("action", value="run").follow()
    run_jobs()
    assert get_values(contact("ada@exemple.fr")) == {"spec": str(StoredFile.get().id)}
    assert len(leftovers(ctx)) == 1  # kept for "import the whole file"
    page = admin.get(shown.request.path)
    admin.post(f"{shown.request.path}/again", {"csrf_token": csrf_of(page), "full": "1"})
    run_jobs()
    full = ImportJob.select().order_by(ImportJob.id.desc()).get()
    assert (full.status, full.created, full.unchanged, full.errors) == ("done", 2, 1, 1)
    assert get_values(contact("bob@exemple.fr")) != {} and leftovers(ctx) == []


def test_deleting_a_draft_deletes_its_unpacked_files(article_fields, admin, ctx):  # noqa: F811
    upload_zip(admin, crm_export()).follow()
    assert len(leftovers(ctx)) == 1
    job = ImportJob.get()
    page = admin.get(f"/admin/imports/{job.id}/setup")
    admin.post(f"/admin/imports/{job.id}/delete", {"csrf_token": csrf_of(page)})
    assert leftovers(ctx) == [] and ImportJob.select().count() == 0
