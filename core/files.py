"""Uploaded files (the ``file`` contact field, documents attached by plugins).

Files live in the instance's ``uploads/`` folder, never under a static folder,
and are served only through :data:`files_blueprint`, which requires a logged-in
user like every non-public endpoint. On disk a file is named
``uploads/YYYY/MM/<random hex>.<ext>``: nothing a user typed ever becomes part
of a path. The name the user gave is kept in :attr:`StoredFile.original_name`
for display and as the download name. We deliberately do not run it through
``werkzeug.utils.secure_filename``, which would turn ``Cahier des charges
été.pdf`` into ``Cahier_des_charges_ete.pdf``. Since the name is never used as
a path, it only needs its directory part and control characters removed
(:func:`clean_original_name`). ``send_file`` encodes it safely in the
``Content-Disposition`` header.

Refusals (too large, empty, extension not allowed, content not matching an
image/PDF extension) raise :class:`core.extension.FieldValueError` and leave
nothing behind: the upload is streamed to a temporary file in the uploads
folder, then moved into place with ``os.replace`` only once it is accepted.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import tempfile
import unicodedata
from pathlib import Path

from flask import Blueprint, abort, current_app, send_file

from .extension import FieldValueError
from .models import StoredFile

log = logging.getLogger("couvee.files")

#: extensions accepted by default (lower case, without the dot)
DEFAULT_ALLOWED = frozenset(
    {
        "pdf", "png", "jpg", "jpeg", "gif", "webp", "txt", "csv",
        "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "zip",
    }
)  # fmt: skip

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "txt": "text/plain",
    "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "zip": "application/zip",
}

#: leading bytes a file of these extensions must start with
_SIGNATURES = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "pdf": (b"%PDF-",),
}
_KIND_NAMES = {"png": "PNG image", "jpg": "JPEG image", "jpeg": "JPEG image", "gif": "GIF image",
               "webp": "WebP image", "pdf": "PDF document"}  # fmt: skip

_HEAD_BYTES = 16
_CHUNK = 64 * 1024
_NAME_MAX = 255


class UnsafePathError(ValueError):
    """A stored path points outside the uploads folder."""


# --- names ------------------------------------------------------------------


def clean_original_name(name) -> str:
    """The user's file name fit for display: its last path component (browsers
    may send ``C:\\fakepath\\x.pdf``), without control or invisible format
    characters, NFC-normalised, at most 255 characters with its extension kept."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if len(text) > _NAME_MAX:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) < 16:
            text = stem[: _NAME_MAX - len(ext) - 1] + "." + ext
        else:
            text = text[:_NAME_MAX]
    return text


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def _human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}".replace(".0 ", " ")
        size /= 1024
    return f"{size} bytes"  # pragma: no cover - loop always returns


# --- validation -------------------------------------------------------------


def _check_extension(name: str, allowed) -> str:
    """The lower-case extension of ``name`` if allowed, else FieldValueError."""
    accepted = ", ".join(sorted(allowed))
    if not name:
        raise FieldValueError(f"The uploaded file has no name; accepted types: {accepted}.")
    ext = _extension(name)
    if not ext:
        raise FieldValueError(f'"{name}" has no extension; accepted types: {accepted}.')
    if ext not in {item.lower().lstrip(".") for item in allowed}:
        raise FieldValueError(f'"{name}": .{ext} files are not accepted; accepted types: {accepted}.')
    return ext


def content_matches(ext: str, head: bytes) -> bool:
    """Whether the first bytes of a file look like its extension says.

    Only images and PDF are checked (the types a browser could render);
    other extensions always match.
    """
    if ext == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    signatures = _SIGNATURES.get(ext)
    if signatures is None:
        return True
    return any(head.startswith(signature) for signature in signatures)


def _check_content(name: str, ext: str, size: int, head: bytes) -> None:
    if size == 0:
        raise FieldValueError(f'"{name}" is empty.')
    if not content_matches(ext, head):
        kind = _KIND_NAMES.get(ext, ext.upper())
        raise FieldValueError(
            f'"{name}" is not a real {kind}: its content does not match the .{ext} extension.'
        )


# --- storing ----------------------------------------------------------------


def _chunks(stream_or_bytes, limit: int):
    """Yield the upload's bytes, reading at most ``limit`` bytes in total."""
    if isinstance(stream_or_bytes, (bytes, bytearray, memoryview)):
        data = memoryview(stream_or_bytes)[:limit]
        for start in range(0, len(data), _CHUNK):
            yield bytes(data[start : start + _CHUNK])
        return
    remaining = limit
    while remaining > 0:
        chunk = stream_or_bytes.read(min(_CHUNK, remaining))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk


def _copy_limited(stream_or_bytes, out, max_bytes: int):
    """Copy at most ``max_bytes + 1`` bytes to ``out``; returns
    ``(size, sha256 hex, first bytes)``."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in _chunks(stream_or_bytes, max_bytes + 1):
        if len(head) < _HEAD_BYTES:
            head += chunk[: _HEAD_BYTES - len(head)]
        size += len(chunk)
        if size > max_bytes:
            break
        digest.update(chunk)
        out.write(chunk)
    return size, digest.hexdigest(), head


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _new_relative_path(uploads_path: Path, ext: str) -> str:
    """``YYYY/MM/<random hex>.<ext>`` (UTC month), not yet used on disk."""
    month = dt.datetime.now(dt.timezone.utc).strftime("%Y/%m")
    while True:
        relative = f"{month}/{secrets.token_hex(16)}.{ext}"
        if not (uploads_path / relative).exists():
            return relative


def store_upload(
    stream_or_bytes,
    original_name: str,
    uploads_path: Path,
    max_bytes: int,
    allowed_extensions=DEFAULT_ALLOWED,
) -> StoredFile:
    """Validate and store an upload; return its new :class:`StoredFile` row.

    ``stream_or_bytes`` is bytes or anything with ``read(n)`` (a werkzeug
    ``FileStorage``, an open file). At most ``max_bytes + 1`` bytes are read.
    Refuses (with :class:`FieldValueError`, leaving no file behind) an upload
    larger than ``max_bytes``, an empty one, one whose extension is not in
    ``allowed_extensions``, or an image/PDF whose first bytes do not match
    its extension. The database connection must be open.
    """
    name = clean_original_name(original_name)
    ext = _check_extension(name, allowed_extensions)
    uploads_path = Path(uploads_path)
    uploads_path.mkdir(parents=True, exist_ok=True)

    fd, temp_path = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=uploads_path)
    try:
        with os.fdopen(fd, "wb") as out:
            size, sha256, head = _copy_limited(stream_or_bytes, out, max_bytes)
        if size > max_bytes:
            raise FieldValueError(f'"{name}" is larger than the {_human_size(max_bytes)} limit.')
        _check_content(name, ext, size, head)
        relative = _new_relative_path(uploads_path, ext)
        target = uploads_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp_path, target)
    except BaseException:
        _unlink(temp_path)
        raise

    try:
        return StoredFile.create(
            path=relative,
            original_name=name,
            content_type=CONTENT_TYPES.get(ext, "application/octet-stream"),
            size=size,
            sha256=sha256,
        )
    except BaseException:
        _unlink(target)
        raise


def open_stored(stored_file, uploads_path) -> Path:
    """The absolute path of a stored file (a StoredFile or its relative path).

    Raises :class:`UnsafePathError` when the path resolves outside
    ``uploads_path`` (``..``, absolute paths, symlinks leading out).
    Does not check that the file exists.
    """
    relative = str(getattr(stored_file, "path", stored_file) or "")
    root = Path(uploads_path).resolve()
    try:
        candidate = (root / relative).resolve()
    except (OSError, ValueError) as error:
        raise UnsafePathError(f"invalid stored path {relative!r}: {error}") from None
    if candidate == root or not candidate.is_relative_to(root):
        raise UnsafePathError(f"stored path {relative!r} is outside the uploads folder")
    return candidate


# --- serving ----------------------------------------------------------------


def stored_path_or_404(stored_file) -> Path:
    """The path of a stored file to serve, or a 404 when it is unknown
    (``None``), outside the uploads folder or missing on disk::

        path = stored_path_or_404(image.file)
        return send_file(path, mimetype=image.file.content_type)
    """
    if stored_file is None:
        abort(404)
    try:
        path = open_stored(stored_file, current_app.extensions["couvee"].config.uploads_path)
    except UnsafePathError as error:
        log.warning("refusing to serve stored file %s: %s", getattr(stored_file, "id", stored_file), error)
        abort(404)
    if not path.is_file():
        abort(404)
    return path

files_blueprint = Blueprint("files", __name__)


@files_blueprint.route("/admin/files/<int:file_id>")
def download(file_id: int):
    """Send a stored file as an attachment (logged-in users only, enforced by
    the app), sandboxed and never sniffed; 404 when unknown or missing."""
    stored = StoredFile.get_or_none(StoredFile.id == file_id)
    path = stored_path_or_404(stored)
    response = send_file(
        path,
        mimetype=stored.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=stored.original_name or path.name,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
