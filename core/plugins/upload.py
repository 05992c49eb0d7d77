"""Install a plugin from an uploaded zip into the instance's plugins folder.

The zip is checked completely before anything touches the disk:

- size: the upload itself is at most ``max_bytes``; it expands to at most
  ``10 × max_bytes`` in at most 5000 entries, and no entry larger than 1 MB
  compresses better than 200:1 (zip bombs);
- entry names: relative, ``/``-separated, no ``..``, no drive letter, no
  backslash; entries are plain files or folders (no symlinks, no devices) and
  are not encrypted;
- layout: exactly one top-level folder ``<name>/`` holding ``__init__.py`` and a
  ``plugin.toml`` whose ``name`` is ``<name>`` and whose ``requires_core``
  accepts this Couvée (``__MACOSX/``, ``.DS_Store``, ``__pycache__/`` and
  ``.pyc`` entries are ignored, never extracted);
- name: not another discovered plugin, not an importable module (``json``,
  ``flask``, ``core`` ...), not an installed folder unless ``replace`` is asked.

Then the files are extracted into a private ``.upload-*`` folder inside the
plugins folder (same filesystem) and renamed into place, so a refused or failed
upload leaves the plugins folder as it was. File modes in the zip are ignored:
files are written 0644, folders 0755.
"""
from __future__ import annotations

import importlib
import importlib.util
import io
import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .discovery import MANIFEST, ManifestError, PluginInfo, compatibility_problem, info_from_dir, parse_manifest
from .host import forget_modules

MAX_ENTRIES = 5000
EXPANSION_FACTOR = 10
MAX_RATIO = 200
RATIO_CHECK_ABOVE = 1024 * 1024
SUPPORTED_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
FILE_MODE = 0o644
DIR_MODE = 0o755
CHUNK = 64 * 1024
DRIVE_LETTER = re.compile(r"^[A-Za-z]:")


class UploadError(ValueError):
    """The uploaded plugin was refused; the message says why, for the admin user."""


# -- public API ------------------------------------------------------------


def install_plugin_zip(
    data: bytes | BinaryIO,
    plugins_folder: Path,
    taken_names: set[str],
    max_bytes: int,
    replace: bool = False,
) -> PluginInfo:
    """Validate a plugin zip and install it as ``plugins_folder/<name>/``.

    ``taken_names`` are the plugins discovered from other sources (bundled,
    entry points). With ``replace=True`` an already uploaded plugin of the same
    name is swapped out atomically (an upgrade). Raises ``UploadError`` on any
    refusal, in which case nothing is written. Returns the installed plugin's
    ``PluginInfo``.
    """
    plugins_folder = Path(plugins_folder)
    payload = _read_upload(data, max_bytes)
    with _open_zip(payload) as archive:
        entries = _checked_entries(archive, max_bytes)
        name = _package_name(entries)
        _check_manifest(archive, name)
        _check_name_free(name, plugins_folder, taken_names, replace)
        plugins_folder.mkdir(parents=True, exist_ok=True)
        _extract_and_install(archive, entries, name, plugins_folder, max_bytes, replace)
    forget_modules(name)
    importlib.invalidate_caches()
    return info_from_dir(plugins_folder / name, name, "instance")


def build_plugin_zip(folder: Path) -> bytes:
    """Zip a plugin package folder, with the folder's name as the zip's single
    top-level directory; ``__pycache__``, ``.pyc`` and ``.DS_Store`` are left
    out. Entries are sorted and timestamped 1980-01-01, so the same folder
    always gives the same bytes."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in _package_files(folder):
            arcname = PurePosixPath(folder.name, *path.relative_to(folder).parts).as_posix()
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


# -- reading and checking the zip -------------------------------------------


def _read_upload(data: bytes | BinaryIO, max_bytes: int) -> bytes:
    """The upload's bytes, refusing more than ``max_bytes`` (a stream is read at
    most one byte past the limit)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        payload = bytes(data)
    else:
        payload = data.read(max_bytes + 1)
    if len(payload) > max_bytes:
        raise UploadError(f"The upload is larger than the limit of {_human_size(max_bytes)}.")
    return payload


def _open_zip(payload: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(payload))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        raise UploadError("The upload is not a zip file.") from None


def _checked_entries(archive: zipfile.ZipFile, max_bytes: int) -> list[zipfile.ZipInfo]:
    """Check every entry of the archive; return those to extract (ignored
    entries such as ``__MACOSX/`` or ``.pyc`` files left out)."""
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise UploadError(f"The zip holds {len(entries)} entries; at most {MAX_ENTRIES} are allowed.")
    total = sum(entry.file_size for entry in entries)
    if total > EXPANSION_FACTOR * max_bytes:
        raise UploadError(
            f"The zip expands to {_human_size(total)}, more than the limit of "
            f"{_human_size(EXPANSION_FACTOR * max_bytes)}."
        )
    seen: set[str] = set()
    for entry in entries:
        _check_entry_name(entry.filename)
        _check_entry_kind(entry)
        _check_entry_ratio(entry)
        key = entry.filename.rstrip("/")
        if key in seen:
            raise UploadError(f"The zip holds {entry.filename!r} twice.")
        seen.add(key)
    return [entry for entry in entries if not _ignored(entry.filename)]


def _check_entry_name(name: str) -> None:
    """Refuse names that could land outside the plugin's folder."""
    if "\\" in name:
        raise UploadError(f"The zip entry {name!r} contains a backslash.")
    if name.startswith("/"):
        raise UploadError(f"The zip entry {name!r} is an absolute path.")
    if DRIVE_LETTER.match(name):
        raise UploadError(f"The zip entry {name!r} starts with a drive letter.")
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise UploadError(f"The zip entry {name!r} contains '..'.")
    if any(part in ("", ".") for part in parts):
        raise UploadError(f"The zip entry {name!r} is not a clean relative path.")


def _check_entry_kind(entry: zipfile.ZipInfo) -> None:
    """Only plain, unencrypted files and folders, in a method we can read."""
    mode = entry.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise UploadError(f"The zip entry {entry.filename!r} is a symbolic link; links are not allowed.")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UploadError(f"The zip entry {entry.filename!r} is a special file (device, pipe or socket).")
    if entry.flag_bits & 0x1:
        raise UploadError(f"The zip entry {entry.filename!r} is encrypted; encrypted zips are not supported.")
    if entry.compress_type not in SUPPORTED_METHODS:
        raise UploadError(f"The zip entry {entry.filename!r} uses an unsupported compression method.")


def _check_entry_ratio(entry: zipfile.ZipInfo) -> None:
    if entry.file_size > RATIO_CHECK_ABOVE and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
        raise UploadError(
            f"The zip entry {entry.filename!r} is compressed suspiciously well "
            f"(more than {MAX_RATIO}:1); it looks like a zip bomb."
        )


def _ignored(name: str) -> bool:
    """Entries never extracted: macOS metadata and compiled Python."""
    parts = name.rstrip("/").split("/")
    return (
        parts[0] == "__MACOSX"
        or parts[-1] == ".DS_Store"
        or "__pycache__" in parts
        or (not name.endswith("/") and parts[-1].endswith(".pyc"))
    )


def _package_name(entries: list[zipfile.ZipInfo]) -> str:
    """The single top-level folder, which must hold ``__init__.py`` and the manifest."""
    tops = {entry.filename.split("/")[0] for entry in entries}
    loose = [entry.filename for entry in entries if "/" not in entry.filename]
    if loose or len(tops) != 1:
        raise UploadError(
            "The zip must contain exactly one top-level folder, named after the plugin "
            f"(found: {', '.join(sorted(tops)) or 'nothing'})."
        )
    name = tops.pop()
    files = {entry.filename for entry in entries if not entry.is_dir()}
    for required in ("__init__.py", MANIFEST):
        if f"{name}/{required}" not in files:
            raise UploadError(f"The folder {name}/ in the zip has no {required}.")
    return name


def _check_manifest(archive: zipfile.ZipFile, name: str) -> None:
    """The manifest is valid, names the folder, and accepts this Couvée."""
    try:
        text = _read_member(archive, f"{name}/{MANIFEST}").decode("utf-8")
    except UnicodeDecodeError:
        raise UploadError(f"{MANIFEST} is not UTF-8 text.") from None
    try:
        values = parse_manifest(text)
    except ManifestError as error:
        raise UploadError(f"Invalid manifest: {error}") from None
    if values["name"] != name:
        raise UploadError(
            f"{MANIFEST} names the plugin {values['name']!r} but its folder is {name!r}; they must match."
        )
    problem = compatibility_problem(values["requires_core"])
    if problem:
        raise UploadError(f"The plugin {name!r} is not compatible: it {problem}.")


def _read_member(archive: zipfile.ZipFile, member: str) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as error:
        raise UploadError(f"The zip is damaged ({member}: {error}).") from None


def _check_name_free(name: str, plugins_folder: Path, taken_names: set[str], replace: bool) -> None:
    """The plugin's name is not used by another plugin or an importable module."""
    if name in taken_names:
        raise UploadError(f"A plugin named {name!r} is already installed from another source.")
    target = plugins_folder / name
    if (target.exists() or target.is_symlink()) and not replace:
        raise UploadError(f"A plugin named {name!r} is already uploaded; replace it to upgrade.")
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise UploadError(f"{target} is not a plugin folder; it cannot be replaced.")
    locations = _module_locations(name)
    if locations is not None and not (replace and _all_inside(locations, target)):
        raise UploadError(
            f"The name {name!r} is already taken by an importable Python module; rename the plugin."
        )


def _module_locations(name: str) -> list[Path] | None:
    """Where the importable module ``name`` comes from: None when there is no
    such module, an empty list when it has no known location."""
    importlib.invalidate_caches()
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):  # a broken or spec-less module still takes the name
        return []
    if spec is None:
        return None
    locations = [Path(location) for location in spec.submodule_search_locations or ()]
    if spec.origin and spec.has_location:
        locations.append(Path(spec.origin))
    return locations


def _all_inside(locations: list[Path], folder: Path) -> bool:
    """Whether a module comes only from ``folder`` (an earlier upload of the plugin)."""
    root = folder.resolve()
    return bool(locations) and all(location.resolve().is_relative_to(root) for location in locations)


# -- writing -----------------------------------------------------------------


def _extract_and_install(
    archive: zipfile.ZipFile,
    entries: list[zipfile.ZipInfo],
    name: str,
    plugins_folder: Path,
    max_bytes: int,
    replace: bool,
) -> None:
    """Extract into a private folder next to the target, then rename into
    place; the private folder (holding the replaced version, if any) is always
    removed."""
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=plugins_folder))
    try:
        _extract(archive, entries, staging, EXPANSION_FACTOR * max_bytes)
        backup = staging / ".previous" if replace else None
        _swap_into_place(staging / name, plugins_folder / name, backup)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], root: Path, budget: int) -> None:
    """Write the entries under ``root`` with fixed modes, counting the bytes
    actually decompressed (headers may lie)."""
    written = 0
    for entry in entries:
        destination = root.joinpath(*entry.filename.rstrip("/").split("/"))
        if entry.is_dir():
            _make_dirs(destination, root)
            continue
        _make_dirs(destination.parent, root)
        written += _write_member(archive, entry, destination, budget - written)


def _make_dirs(path: Path, root: Path) -> None:
    missing = []
    while path != root and not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except OSError as error:
            raise UploadError(f"Could not create {folder.relative_to(root)}: {error.strerror}.") from None
        os.chmod(folder, DIR_MODE)


def _write_member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, destination: Path, budget: int) -> int:
    """Stream one file out of the archive; return the bytes written."""
    size = 0
    try:
        with archive.open(entry) as source, open(destination, "xb") as target:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > entry.file_size or size > budget:
                    raise UploadError(f"The zip entry {entry.filename!r} expands beyond its declared size.")
                target.write(chunk)
        os.chmod(destination, FILE_MODE)
    except UploadError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError) as error:
        raise UploadError(f"The zip is damaged ({entry.filename}: {error}).") from None
    except OSError as error:
        raise UploadError(f"Could not write {entry.filename}: {error.strerror or error}.") from None
    return size


def _swap_into_place(new: Path, target: Path, backup: Path | None) -> None:
    """Move ``new`` to ``target``. With a ``backup`` path, an existing
    ``target`` is moved there first and put back if the move fails; without
    one, an existing ``target`` (appeared since the checks) makes it fail."""
    if not new.is_dir():
        raise UploadError("The zip's plugin folder could not be extracted.")
    moved_aside = False
    try:
        if backup is not None and target.exists():
            os.replace(target, backup)
            moved_aside = True
        if target.exists():
            raise FileExistsError(17, "a plugin folder of that name appeared meanwhile")
        os.replace(new, target)
    except OSError as error:
        if moved_aside and not target.exists():
            os.replace(backup, target)
        raise UploadError(f"Could not install the plugin: {error.strerror or error}.") from None


# -- helpers -----------------------------------------------------------------


def _package_files(folder: Path) -> list[Path]:
    files = []
    for directory, subdirs, names in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(names):
            if not (name.endswith(".pyc") or name == ".DS_Store"):
                files.append(Path(directory, name))
    return files


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
