"""Unit tests for uploaded files (core/files.py): validation, storage layout,
path containment and the download endpoint."""
import hashlib
import io
import re
import types

import flask
import pytest
import webtest

from core.db import init_database, open_database
from core.extension import FieldValueError
from core.files import (
    DEFAULT_ALLOWED,
    UnsafePathError,
    clean_original_name,
    content_matches,
    files_blueprint,
    open_stored,
    store_upload,
)
from core.models import StoredFile

PDF = b"%PDF-1.7\n% cahier des charges\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MB = 1024 * 1024


@pytest.fixture
def database(tmp_path):
    database = open_database(f"sqlite:///{tmp_path}/t.db")
    init_database(database)
    database.connect()
    database.create_tables([StoredFile])
    yield database
    database.close()


@pytest.fixture
def uploads(tmp_path):
    return tmp_path / "uploads"


def files_under(path):
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


# --- storing --------------------------------------------------------------------


def test_store_spec_document(database, uploads):
    stored = store_upload(io.BytesIO(PDF), "Cahier des charges été.pdf", uploads, max_bytes=MB)
    assert stored.id is not None
    assert stored.original_name == "Cahier des charges été.pdf"
    assert stored.content_type == "application/pdf"
    assert stored.size == len(PDF)
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert re.fullmatch(r"\d{4}/\d{2}/[0-9a-f]{32}\.pdf", stored.path)
    assert (uploads / stored.path).read_bytes() == PDF
    assert files_under(uploads) == [uploads / stored.path]  # no temp file left
    assert StoredFile.get_by_id(stored.id).path == stored.path


def test_store_from_bytes_and_werkzeug_file_storage(database, uploads):
    from werkzeug.datastructures import FileStorage

    first = store_upload(PNG, "logo.PNG", uploads, max_bytes=MB)
    second = store_upload(FileStorage(io.BytesIO(PNG), filename="logo.png"), "logo.png", uploads, max_bytes=MB)
    assert first.content_type == second.content_type == "image/png"
    assert first.path != second.path
    assert first.path.endswith(".png")
    assert first.sha256 == second.sha256


def test_exactly_max_bytes_is_accepted(database, uploads):
    data = b"x" * 100
    assert store_upload(io.BytesIO(data), "notes.txt", uploads, max_bytes=100).size == 100


class CountingStream(io.BytesIO):
    def __init__(self, data):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_oversize_refused_and_nothing_written(database, uploads):
    stream = CountingStream(b"%PDF-" + b"x" * (3 * MB))
    with pytest.raises(FieldValueError, match=r'"big.pdf" is larger than the 1 MB limit'):
        store_upload(stream, "big.pdf", uploads, max_bytes=MB)
    assert stream.bytes_read == MB + 1
    assert files_under(uploads) == []
    assert StoredFile.select().count() == 0


def test_oversize_bytes_refused(database, uploads):
    with pytest.raises(FieldValueError, match="larger than the 100 bytes limit"):
        store_upload(b"x" * 101, "notes.txt", uploads, max_bytes=100)
    assert files_under(uploads) == []


@pytest.mark.parametrize("name", ["payload.exe", "page.html", "image.svg", "script.PHP", "archive.tar.gz"])
def test_extension_refused(database, uploads, name):
    with pytest.raises(FieldValueError) as error:
        store_upload(b"hello", name, uploads, max_bytes=MB)
    ext = name.rsplit(".", 1)[1].lower()
    assert f'"{name}": .{ext} files are not accepted' in str(error.value)
    assert "pdf" in str(error.value)
    assert files_under(uploads) == []
    assert StoredFile.select().count() == 0


def test_no_extension_refused(database, uploads):
    with pytest.raises(FieldValueError, match='"README" has no extension'):
        store_upload(b"hello", "README", uploads, max_bytes=MB)


def test_custom_allow_list(database, uploads):
    with pytest.raises(FieldValueError, match="accepted types: csv"):
        store_upload(PDF, "spec.pdf", uploads, max_bytes=MB, allowed_extensions={"csv"})
    assert store_upload(b"a;b\n", "export.csv", uploads, max_bytes=MB, allowed_extensions={"csv"}).size == 4


def test_png_with_other_content_refused(database, uploads):
    with pytest.raises(FieldValueError) as error:
        store_upload(b"<html><script>alert(1)</script></html>", "photo.png", uploads, max_bytes=MB)
    assert str(error.value) == '"photo.png" is not a real PNG image: its content does not match the .png extension.'
    assert files_under(uploads) == []
    assert StoredFile.select().count() == 0


def test_pdf_with_other_content_refused(database, uploads):
    with pytest.raises(FieldValueError, match="not a real PDF document"):
        store_upload(PNG, "spec.pdf", uploads, max_bytes=MB)


def test_empty_file_refused(database, uploads):
    with pytest.raises(FieldValueError, match='"empty.txt" is empty'):
        store_upload(b"", "empty.txt", uploads, max_bytes=MB)
    assert files_under(uploads) == []


def test_database_failure_removes_the_file(tmp_path, uploads):
    database = open_database(f"sqlite:///{tmp_path}/t.db")
    init_database(database)
    database.connect()  # no table created: the insert fails
    try:
        with pytest.raises(Exception):
            store_upload(PDF, "spec.pdf", uploads, max_bytes=MB)
    finally:
        database.close()
    assert files_under(uploads) == []


@pytest.mark.parametrize(
    "ext, head, ok",
    [
        ("png", PNG, True),
        ("jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", True),
        ("jpeg", b"GIF89a", False),
        ("gif", b"GIF87a....", True),
        ("webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", True),
        ("webp", b"RIFF\x00\x00\x00\x00WAVEfmt ", False),
        ("pdf", PDF, True),
        ("pdf", b"<html>", False),
        ("txt", b"anything", True),
        ("docx", b"PK\x03\x04", True),
    ],
)
def test_content_matches(ext, head, ok):
    assert content_matches(ext, head) is ok


def test_default_allow_list():
    assert DEFAULT_ALLOWED == {
        "pdf", "png", "jpg", "jpeg", "gif", "webp", "txt", "csv", "doc", "docx",
        "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "zip",
    }  # fmt: skip


def test_clean_original_name():
    assert clean_original_name("C:\\fakepath\\Cahier des charges.pdf") == "Cahier des charges.pdf"
    assert clean_original_name("../../etc/passwd.txt") == "passwd.txt"
    assert clean_original_name("rapport\u202egpj.exe.pdf") == "rapportgpj.exe.pdf"
    assert clean_original_name("a\x00b\r\n.txt") == "ab.txt"
    long = clean_original_name("x" * 400 + ".pdf")
    assert len(long) == 255 and long.endswith(".pdf")


def test_traversal_in_name_does_not_escape(database, uploads):
    stored = store_upload(b"hello", "../../../evil.txt", uploads, max_bytes=MB)
    assert stored.original_name == "evil.txt"
    assert files_under(uploads) == [uploads / stored.path]


# --- path containment -----------------------------------------------------------


def test_open_stored_inside(uploads):
    uploads.mkdir()
    path = open_stored(types.SimpleNamespace(path="2024/03/abc.pdf"), uploads)
    assert path == uploads.resolve() / "2024" / "03" / "abc.pdf"


@pytest.mark.parametrize("bad", ["../secret.txt", "2024/../../secret.txt", "/etc/passwd", "", ".", "a\x00b"])
def test_open_stored_refuses_escape(uploads, bad):
    uploads.mkdir()
    with pytest.raises(UnsafePathError):
        open_stored(types.SimpleNamespace(path=bad), uploads)


def test_open_stored_refuses_symlink_out(tmp_path, uploads):
    uploads.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (uploads / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(UnsafePathError):
        open_stored("link.txt", uploads)


# --- download endpoint ------------------------------------------------------------


@pytest.fixture
def client(database, uploads):
    app = flask.Flask(__name__)
    app.extensions["couvee"] = types.SimpleNamespace(config=types.SimpleNamespace(uploads_path=uploads))
    app.register_blueprint(files_blueprint)
    return webtest.TestApp(app)


def test_download(client, uploads):
    stored = store_upload(PDF, "Cahier des charges été.pdf", uploads, max_bytes=MB)
    response = client.get(f"/admin/files/{stored.id}")
    assert response.body == PDF
    assert response.content_type == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Cahier%20des%20charges%20%C3%A9t%C3%A9.pdf" in disposition


def test_download_unknown_is_404(client):
    client.get("/admin/files/999", status=404)


def test_download_missing_file_is_404(client, uploads):
    stored = store_upload(PDF, "spec.pdf", uploads, max_bytes=MB)
    (uploads / stored.path).unlink()
    client.get(f"/admin/files/{stored.id}", status=404)


def test_download_escaping_path_is_404(client, tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    stored = StoredFile.create(
        path="../secret.txt", original_name="secret.txt", content_type="text/plain", size=6, sha256="0" * 64
    )
    response = client.get(f"/admin/files/{stored.id}", status=404)
    assert b"secret" not in response.body
