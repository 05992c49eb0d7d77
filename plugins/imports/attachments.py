"""Filling *file* custom fields from an import.

A CSV cell cannot hold a document, so the rule is: the column of a file
field holds **file names**, resolved in a folder given with
``couvee import --files DIR`` (the folder you unzipped the export into). Each
file goes through :func:`core.store_upload` exactly like an upload from
the contact page: its type and size are checked, and it is stored in the
instance's ``uploads/`` folder (never under static) under a random name.

A name is a path relative to the folder (``devis/acme.pdf``); one leading out
of it (``../secret``, an absolute path, a symlink pointing outside) is
refused. The same file (same name and content) imported again reuses the
stored file, so re-running an import changes nothing and stores nothing.

In the wizard, the folder is a zip's unpacked content (see :mod:`.archive`).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from core import DEFAULT_ALLOWED, FieldValueError, StoredFile, clean_original_name, store_upload

from .reasons import N_, Reason

_CHUNK = 64 * 1024
#: suffix of the folders holding a zip's unpacked files (archive.py)
ZIP_FOLDER_SUFFIX = ".zip-files"


def _from_zip(folder) -> bool:
    """Whether ``folder`` is a zip uploaded to the wizard, unpacked (its path
    means nothing to the user: report lines say "the zip")."""
    return str(folder).endswith(ZIP_FOLDER_SUFFIX)


class FileRefused(FieldValueError):
    """A file name the import cannot use; ``reason`` is the
    :class:`.reasons.Reason` shown in the report (``str()`` its English)."""

    def __init__(self, reason: Reason):
        super().__init__(reason.english())
        self.reason = reason


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FileFolder:
    """The folder an import's file names are resolved in."""

    def __init__(self, folder, uploads_path, max_bytes: int, allowed=DEFAULT_ALLOWED):
        self.folder = Path(folder)
        self.root = self.folder.resolve()
        self.uploads_path = Path(uploads_path)
        self.max_bytes = max_bytes
        self.allowed = allowed

    def resolve(self, name: str) -> Path:
        """The file ``name`` points to inside the folder, or FieldValueError."""
        try:
            path = (self.root / name).resolve()
        except (OSError, ValueError):
            path = None
        if path is None or path == self.root or not path.is_relative_to(self.root):
            if _from_zip(self.folder):
                raise FileRefused(Reason.of(N_('"%(name)s" is not inside the zip.'), name=name))
            raise FileRefused(Reason.of(N_('"%(name)s" is not inside the files folder %(folder)s.'),
                                        name=name, folder=str(self.folder)))
        if not path.is_file():
            if _from_zip(self.folder):
                raise FileRefused(Reason.of(N_('there is no file "%(name)s" in the zip.'), name=name))
            raise FileRefused(Reason.of(N_('there is no file "%(name)s" in %(folder)s.'),
                                        name=name, folder=str(self.folder)))
        return path

    def store(self, text: str) -> str | None:
        """The StoredFile id (as text) for the file named ``text``; None when
        the cell is blank. Refusals (missing, outside the folder, type, size,
        content) raise FieldValueError with the reason."""
        name = (text or "").strip()
        if not name:
            return None
        path = self.resolve(name)
        original = clean_original_name(name)
        if path.stat().st_size <= self.max_bytes:
            known = (StoredFile.select(StoredFile.id)
                     .where((StoredFile.sha256 == _sha256(path)) & (StoredFile.original_name == original))
                     .order_by(StoredFile.id).first())
            if known is not None:
                return str(known.id)
        with open(path, "rb") as handle:
            return str(store_upload(handle, original, self.uploads_path, self.max_bytes, self.allowed).id)

    def field_type(self) -> "FileColumn":
        return FileColumn(self)


class FileColumn:
    """Stands for the file field type in :class:`.parse.RowParser`:
    ``parse`` turns a file name into a stored file id."""

    is_file = True
    multi_valued = False

    def __init__(self, folder: FileFolder | None):
        self.folder = folder

    def parse(self, text, field=None):
        if self.folder is None:
            if not (text or "").strip():
                return None
            raise FileRefused(Reason.of(N_("a file field is filled from files named in the column: give the "
                                           "folder holding them (couvee import --files DIR).")))
        return self.folder.store(text)
