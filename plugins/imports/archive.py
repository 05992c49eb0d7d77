"""A .zip uploaded to the import wizard: the CSV and the files it names.

A file custom field's column holds file names (see :mod:`.attachments`); on
the command line they are found in a folder (``couvee import --files DIR``).
In the wizard the user uploads one zip holding the CSV and those files. The
zip is checked before anything is written:

- it must be a readable zip with exactly one ``.csv`` (or ``.tsv``) file, no encrypted entry and no symbolic link;
- no entry may leave the folder it is unpacked in (``../x``, ``/etc/x``,
  ``C:\\x``): the whole zip is refused, naming the entry;
- at most the settings ``archive_max_files`` entries and
  ``archive_max_megabytes`` unpacked in all (zip bombs). The sizes a zip
  declares can lie, so the bytes really unpacked are counted too.

The CSV then goes through :func:`.runner.new_job` like a plain upload (the
mapping step follows). The other entries are unpacked into a private folder
next to the uploaded CSVs, named ``<random>.zip-files``, which becomes the
job's files folder: each file named in the CSV is checked and stored by
:func:`core.store_upload` (allowed types, size limit, content matching
its extension) when its row is imported, exactly like a ``--files`` import,
so it lands in core's files store (served behind login, removed by erasure).

The zip itself is deleted as soon as it is unpacked (or refused). The
unpacked folder is deleted when the import ends, succeeded or failed, and
when its job is deleted; a *test* import keeps it for "import the whole
file", whose job takes it over (:func:`hand_over`).
"""
from __future__ import annotations

import secrets
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from flask import current_app

from core import get_setting, translation_domain

from . import runner
from .attachments import ZIP_FOLDER_SUFFIX
from .models import ImportJob

gettext = translation_domain(__name__).gettext  # not "_": this module uses _ for ignored values

#: the entries that can be the zip's CSV
CSV_SUFFIXES = (".csv", ".tsv")
_CHUNK = 1024 * 1024


class ArchiveRefused(runner.UploadRefused):
    """The zip cannot be imported; the message says why."""


def is_zip_upload(filename: str) -> bool:
    """An upload to unpack: named ``.zip`` (an .xlsx is a zip too, but a
    workbook: the CSV check explains how to save it as CSV)."""
    return (filename or "").lower().endswith(".zip")


def _limits() -> tuple[int, int, int]:
    """Most entries, most unpacked bytes in all, most bytes for one file."""
    megabytes = get_setting("imports", "archive_max_megabytes")
    return (get_setting("imports", "archive_max_files"), megabytes * 1024 * 1024,
            current_app.extensions["couvee"].config.max_upload_bytes)


def _safe_name(info: zipfile.ZipInfo) -> str:
    """The entry's path inside the zip, or ArchiveRefused when it would leave
    the folder it is unpacked in, is a link or is encrypted."""
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if (not name or name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0])
            or "\x00" in name):
        raise ArchiveRefused(gettext('The zip holds "%(name)s", a path leading out of the zip: it was not imported.',
                                     name=name))
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveRefused(gettext('The zip holds "%(name)s", a symbolic link: it was not imported.', name=name))
    if info.flag_bits & 0x1:
        raise ArchiveRefused(gettext('"%(name)s" is encrypted in the zip: make the zip without a password.', name=name))
    return "/".join(parts)


def _entries(archive: zipfile.ZipFile) -> list[tuple[str, zipfile.ZipInfo]]:
    """The zip's files (not folders) with their safe names, after the count
    and declared-size checks."""
    max_files, max_bytes, _ = _limits()
    infos = archive.infolist()
    if len(infos) > max_files:
        raise ArchiveRefused(gettext("The zip holds %(count)s entries; at most %(most)s are accepted.",
                                     count=len(infos), most=max_files))
    if sum(info.file_size for info in infos) > max_bytes:
        raise ArchiveRefused(gettext("The zip unpacks to more than %(size)s; split it or leave out what the import "
                                     "does not need.", size=runner._human_size(max_bytes)))
    return [(_safe_name(info), info) for info in infos if not info.is_dir()]


def _the_csv(entries) -> tuple[str, zipfile.ZipInfo]:
    found = [(name, info) for name, info in entries if name.lower().endswith(CSV_SUFFIXES)
             and not name.startswith("__MACOSX/")]
    if not found:
        raise ArchiveRefused(gettext("The zip holds no CSV file: put the contacts file (.csv) in it with the files "
                                     "it names."))
    if len(found) > 1:
        names = ", ".join(name for name, _ in found[:5])
        raise ArchiveRefused(gettext("The zip holds %(count)s CSV files (%(names)s): put exactly one in it.",
                                     count=len(found), names=names))
    return found[0]


class _Budget:
    """The unpacked bytes still allowed (the real ones, not what the zip says)."""

    def __init__(self, total: int):
        self.left = total

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise ArchiveRefused(gettext(
                "The zip unpacks to more than it declares (a zip bomb?): it was not imported."))


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: _Budget, cap: int) -> None:
    """Copy one entry to ``target``, at most ``cap + 1`` bytes (enough for
    the upload check to refuse a file over the limit, with its name)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(info) as source, open(target, "wb") as out:
        while written <= cap and (chunk := source.read(min(_CHUNK, cap + 1 - written))):
            budget.take(len(chunk))
            written += len(chunk)
            out.write(chunk)


def _save_zip(stream, folder: Path, max_bytes: int) -> Path:
    temp, _ = runner.copy_bounded(stream, folder, ".import-", ".zip", max_bytes, ArchiveRefused(
        gettext("The zip is larger than the %(size)s limit.", size=runner._human_size(max_bytes))))
    return temp


def new_job_from_zip(stream, original_name: str, user=None) -> ImportJob:
    """Check and unpack an uploaded zip; return the draft job of its CSV with
    the unpacked files as its files folder. Nothing stays on disk when the
    zip is refused (:class:`ArchiveRefused`, or :class:`runner.UploadRefused`
    for the CSV itself)."""
    _, max_total, max_file = _limits()
    folder = runner.imports_path()
    zip_path = _save_zip(stream, folder, max_file)
    files = folder / f"{secrets.token_hex(16)}{ZIP_FOLDER_SUFFIX}"
    try:
        try:
            archive = zipfile.ZipFile(zip_path)
        except (zipfile.BadZipFile, OSError):
            raise ArchiveRefused(gettext("The file is not a readable zip.")) from None
        with archive:
            entries = _entries(archive)
            csv_name, csv_info = _the_csv(entries)
            budget = _Budget(max_total)
            files.mkdir()
            for name, info in entries:
                if info is not csv_info:
                    try:
                        _unpack(archive, info, files / name, budget, max_file)
                    except OSError as error:  # e.g. a file and a folder of the same name
                        raise ArchiveRefused(gettext('"%(name)s" cannot be unpacked from the zip: %(error)s.',
                                                     name=name, error=error.strerror)) from None
            with archive.open(csv_info) as csv_stream:
                job = runner.new_job(_Counted(csv_stream, budget), PurePosixPath(csv_name).name, user=user)
        job.options = {**(job.options or {}), "files_dir": str(files), "files_from_zip": True}
        job.original_name = f"{(original_name or 'import.zip')[:120]} › {PurePosixPath(csv_name).name}"[:250]
        job.save()
        return job
    except zipfile.BadZipFile as error:
        shutil.rmtree(files, ignore_errors=True)
        raise ArchiveRefused(gettext("The zip is damaged: %(error)s", error=str(error))) from None
    except BaseException:
        shutil.rmtree(files, ignore_errors=True)
        raise
    finally:
        zip_path.unlink(missing_ok=True)


class _Counted:
    """A stream whose bytes count against the unpacking budget."""

    def __init__(self, stream, budget: _Budget):
        self.stream, self.budget = stream, budget

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.budget.take(len(chunk))
        return chunk


def _unpacked_folder(job: ImportJob) -> Path | None:
    """The job's unpacked zip folder (only ever one inside the imports folder)."""
    options = job.options or {}
    if not options.get("files_from_zip") or not options.get("files_dir"):
        return None
    path = Path(options["files_dir"]).resolve()
    root = runner.imports_path().resolve()
    if path.parent != root or not path.name.endswith(ZIP_FOLDER_SUFFIX):
        return None
    return path


def discard_files(job: ImportJob) -> None:
    """Delete the job's unpacked files (after its import, or with the job)."""
    folder = _unpacked_folder(job)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def hand_over(old: ImportJob, new: ImportJob) -> None:
    """"Import the whole file" after a test run: the new job takes the
    unpacked files over (the test job no longer has them)."""
    folder = _unpacked_folder(old)
    if folder is None or not folder.is_dir():
        return
    moved = folder.with_name(f"{secrets.token_hex(16)}{ZIP_FOLDER_SUFFIX}")
    folder.rename(moved)
    new.options = {**(new.options or {}), "files_dir": str(moved), "files_from_zip": True}
    new.save()
    old.options = {key: value for key, value in (old.options or {}).items() if key != "files_dir"}
    old.save()
