"""Installing plugins from uploaded zips: hostile zips are refused without
writing anything, good ones land in the instance's plugins folder."""
from __future__ import annotations

import hashlib
import importlib
import io
import stat
import sys
import zipfile
from pathlib import Path

import pytest

from core.plugins import upload
from core.plugins.host import forget_modules
from core.plugins.upload import UploadError, build_plugin_zip, install_plugin_zip

MB = 1024 * 1024


def manifest(name: str = "hello", version: str = "1.0.0", requires_core: str = ">=0.1") -> bytes:
    return (
        f'name = "{name}"\n'
        'title = "Hello"\n'
        f'version = "{version}"\n'
        'description = "Says hello"\n'
        'author = "Tester"\n'
        f'requires_core = "{requires_core}"\n'
    ).encode()


def plugin_files(name: str = "hello", **manifest_values) -> list[tuple[str, bytes]]:
    return [
        (f"{name}/__init__.py", b"GREETING = 'hello'\n"),
        (f"{name}/plugin.toml", manifest(name, **manifest_values)),
    ]


def make_zip(entries, compression=zipfile.ZIP_DEFLATED, tamper=None) -> bytes:
    """A zip of ``(name or ZipInfo, data)`` pairs; ``tamper(archive)`` may
    change the central directory entries before they are written."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if tamper:
            tamper(archive)
    return buffer.getvalue()


def zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so the mode bits mean what they say
    info.external_attr = mode << 16
    return info


def listing(folder: Path) -> list[tuple[str, str]]:
    """Every path under ``folder`` with a digest of its content."""
    items = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            kind = "link"
        elif path.is_dir():
            kind = "dir"
        else:
            kind = hashlib.sha256(path.read_bytes()).hexdigest()
        items.append((path.relative_to(folder).as_posix(), kind))
    return items


@pytest.fixture
def plugins_folder(tmp_path) -> Path:
    """An instance plugins folder already holding one uploaded plugin."""
    folder = tmp_path / "plugins"
    (folder / "other").mkdir(parents=True)
    (folder / "other" / "__init__.py").write_text("")
    (folder / "other" / "plugin.toml").write_bytes(manifest("other"))
    return folder


def refuse(data, folder: Path, match: str, max_bytes: int = MB, taken=frozenset(), replace=False) -> str:
    before = listing(folder)
    with pytest.raises(UploadError, match=match) as caught:
        install_plugin_zip(data, folder, set(taken), max_bytes, replace=replace)
    assert listing(folder) == before, "a refused upload must not write anything"
    return str(caught.value)


# -- the happy path ------------------------------------------------------------


def test_installs_a_valid_plugin(plugins_folder):
    extra = [("hello/templates/hello/page.html", b"<p>hi</p>"), ("hello/templates/", b"")]
    info = install_plugin_zip(make_zip(plugin_files() + extra), plugins_folder, {"forms"}, MB)

    target = plugins_folder / "hello"
    assert (target / "__init__.py").read_bytes() == b"GREETING = 'hello'\n"
    assert (target / "templates" / "hello" / "page.html").read_bytes() == b"<p>hi</p>"
    assert info.name == "hello" and info.module_name == "hello" and info.source == "instance"
    assert info.path == target
    assert (info.title, info.version, info.description, info.author, info.requires_core) == (
        "Hello", "1.0.0", "Says hello", "Tester", ">=0.1",
    )
    assert info.loadable and info.templates_path == target / "templates"
    assert sorted(p.name for p in plugins_folder.iterdir()) == ["hello", "other"], "no temp dir left"


def test_accepts_a_stream(plugins_folder):
    info = install_plugin_zip(io.BytesIO(make_zip(plugin_files())), plugins_folder, set(), MB)
    assert info.name == "hello" and (plugins_folder / "hello" / "plugin.toml").is_file()


def test_creates_a_missing_plugins_folder(tmp_path):
    folder = tmp_path / "instance" / "plugins"
    install_plugin_zip(make_zip(plugin_files()), folder, set(), MB)
    assert (folder / "hello" / "__init__.py").is_file()


def test_ignores_macos_litter_and_compiled_python(plugins_folder):
    litter = [
        ("__MACOSX/hello/._plugin.toml", b"\0\5\26\7"),
        ("hello/.DS_Store", b"junk"),
        ("hello/__pycache__/__init__.cpython-311.pyc", b"bytecode"),
        ("hello/stale.pyc", b"bytecode"),
    ]
    install_plugin_zip(make_zip(plugin_files() + litter), plugins_folder, set(), MB)
    assert sorted(p.name for p in (plugins_folder / "hello").iterdir()) == ["__init__.py", "plugin.toml"]
    assert not (plugins_folder / "__MACOSX").exists()


def test_file_modes_are_not_taken_from_the_zip(plugins_folder):
    entries = [
        (zip_info("hello/", stat.S_IFDIR | 0o777), b""),
        (zip_info("hello/__init__.py", stat.S_IFREG | 0o4777), b""),
        (zip_info("hello/sub/", stat.S_IFDIR | 0o700), b""),
        (zip_info("hello/sub/run.sh", stat.S_IFREG | 0o777), b"#!/bin/sh\n"),
        ("hello/plugin.toml", manifest()),
    ]
    install_plugin_zip(make_zip(entries), plugins_folder, set(), MB)
    target = plugins_folder / "hello"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert stat.S_IMODE((target / "sub").stat().st_mode) == 0o755
    assert stat.S_IMODE((target / "__init__.py").stat().st_mode) == 0o644
    assert stat.S_IMODE((target / "sub" / "run.sh").stat().st_mode) == 0o644


def test_build_plugin_zip_round_trips(tmp_path, plugins_folder):
    source = tmp_path / "src" / "hello"
    (source / "templates" / "hello").mkdir(parents=True)
    (source / "__pycache__").mkdir()
    (source / "__init__.py").write_text("X = 1\n")
    (source / "plugin.toml").write_bytes(manifest())
    (source / "templates" / "hello" / "page.html").write_text("<p>hi</p>")
    (source / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"bytecode")

    data = build_plugin_zip(source)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["hello/__init__.py", "hello/plugin.toml", "hello/templates/hello/page.html"]
    assert build_plugin_zip(source) == data, "packing is reproducible"

    install_plugin_zip(data, plugins_folder, set(), MB)
    assert listing(plugins_folder / "hello") == [
        item for item in listing(source) if not item[0].startswith("__pycache__")
    ]


# -- upgrades ------------------------------------------------------------------


@pytest.fixture
def importable(plugins_folder, monkeypatch):
    """The plugins folder on sys.path, as it is once an uploaded plugin is loaded."""
    monkeypatch.syspath_prepend(str(plugins_folder))
    yield plugins_folder
    forget_modules("hello")


def test_an_uploaded_plugin_is_not_overwritten_without_replace(importable):
    install_plugin_zip(make_zip(plugin_files()), importable, set(), MB)
    v2 = make_zip(plugin_files(version="2.0.0"))
    refuse(v2, importable, "already uploaded")


def test_replace_upgrades_an_uploaded_plugin(importable):
    install_plugin_zip(make_zip(plugin_files() + [("hello/old.py", b"")]), importable, set(), MB)
    module = importlib.import_module("hello")
    assert module.GREETING == "hello"

    v2 = plugin_files(version="2.0.0")
    v2[0] = ("hello/__init__.py", b"GREETING = 'hello again'\n")
    info = install_plugin_zip(make_zip(v2), importable, set(), MB, replace=True)

    assert info.version == "2.0.0"
    assert not (importable / "hello" / "old.py").exists(), "the old version is gone, not merged"
    assert "hello" not in sys.modules, "the old module is forgotten"
    assert importlib.import_module("hello").GREETING == "hello again"
    assert sorted(p.name for p in importable.iterdir()) == ["hello", "other"]


def test_replace_installs_when_nothing_is_there_yet(plugins_folder):
    info = install_plugin_zip(make_zip(plugin_files()), plugins_folder, set(), MB, replace=True)
    assert info.version == "1.0.0"


def test_a_failed_swap_restores_the_old_version(plugins_folder, monkeypatch):
    install_plugin_zip(make_zip(plugin_files()), plugins_folder, set(), MB)
    before = listing(plugins_folder)
    real_replace = upload.os.replace

    def failing_replace(source, destination):
        if Path(source).name == "hello" and Path(source).parent.name.startswith(".upload-"):
            raise OSError(28, "No space left on device")
        return real_replace(source, destination)

    monkeypatch.setattr(upload.os, "replace", failing_replace)
    with pytest.raises(UploadError, match="Could not install the plugin: No space left"):
        install_plugin_zip(make_zip(plugin_files(version="2.0.0")), plugins_folder, set(), MB, replace=True)
    assert listing(plugins_folder) == before


def test_replace_does_not_allow_shadowing_a_module(plugins_folder):
    refuse(make_zip(plugin_files("json")), plugins_folder, "importable Python module", replace=True)


# -- refusals: size and format --------------------------------------------------


def test_refuses_an_oversize_upload(plugins_folder):
    data = make_zip(plugin_files() + [("hello/big.bin", bytes(range(256)) * 8192)], zipfile.ZIP_STORED)
    assert len(data) > MB
    refuse(data, plugins_folder, "larger than the limit of 1.0 MB")
    refuse(io.BytesIO(data), plugins_folder, "larger than the limit")


def test_refuses_what_is_not_a_zip(plugins_folder):
    refuse(b"#!/bin/sh\nrm -rf /\n", plugins_folder, "not a zip file")
    refuse(b"", plugins_folder, "not a zip file")


def test_refuses_a_zip_bomb(plugins_folder):
    bomb = make_zip(plugin_files() + [("hello/zeros.bin", bytes(50 * MB))])
    assert len(bomb) < MB
    refuse(bomb, plugins_folder, "expands to 50.0 MB, more than the limit of 10.0 MB")


def test_refuses_an_entry_compressed_suspiciously_well(plugins_folder):
    data = make_zip(plugin_files() + [("hello/zeros.bin", bytes(2 * MB))])
    refuse(data, plugins_folder, "zip bomb", max_bytes=10 * MB)


def test_refuses_too_many_entries(plugins_folder):
    many = [(f"hello/f{i}.txt", b"") for i in range(5000)]
    refuse(make_zip(plugin_files() + many), plugins_folder, "at most 5000")


def test_refuses_an_entry_lying_about_its_size(plugins_folder):
    def shrink(archive):
        archive.getinfo("hello/data.txt").file_size = 10

    data = make_zip(plugin_files() + [("hello/data.txt", b"x" * 5000)], tamper=shrink)
    refuse(data, plugins_folder, "damaged|beyond its declared size")


# -- refusals: entry names and kinds -------------------------------------------


@pytest.mark.parametrize(
    "name, match",
    [
        ("../evil.py", "contains '..'"),
        ("hello/../../evil.py", "contains '..'"),
        ("/abs/x.py", "absolute path"),
        ("C:/x.py", "drive letter"),
        ("pkg\\..\\x", "backslash"),
        ("hello/./x.py", "not a clean relative path"),
    ],
)
def test_refuses_unsafe_entry_names(plugins_folder, name, match):
    refuse(make_zip(plugin_files() + [(name, b"print('owned')")]), plugins_folder, match)


def test_refuses_a_symlink(plugins_folder):
    link = zip_info("hello/passwd", stat.S_IFLNK | 0o777)
    refuse(make_zip(plugin_files() + [(link, b"/etc/passwd")]), plugins_folder, "symbolic link")


def test_refuses_a_device_file(plugins_folder):
    device = zip_info("hello/null", stat.S_IFCHR | 0o666)
    refuse(make_zip(plugin_files() + [(device, b"")]), plugins_folder, "special file")


def test_refuses_an_encrypted_entry(plugins_folder):
    def encrypt_flag(archive):
        archive.getinfo("hello/__init__.py").flag_bits |= 0x1

    refuse(make_zip(plugin_files(), tamper=encrypt_flag), plugins_folder, "encrypted")


def test_refuses_a_duplicate_entry(plugins_folder):
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = make_zip(plugin_files() + [("hello/__init__.py", b"import os\n")])
    refuse(data, plugins_folder, "twice")


# -- refusals: layout and manifest ---------------------------------------------


def test_refuses_two_top_level_folders(plugins_folder):
    data = make_zip(plugin_files() + plugin_files("world"))
    refuse(data, plugins_folder, "exactly one top-level folder.*hello, world")


def test_refuses_a_loose_top_level_file(plugins_folder):
    refuse(make_zip(plugin_files() + [("README.md", b"hi")]), plugins_folder, "exactly one top-level folder")


def test_refuses_an_empty_zip(plugins_folder):
    refuse(make_zip([]), plugins_folder, r"exactly one top-level folder, named after the plugin \(found: nothing\)")


def test_refuses_a_missing_manifest(plugins_folder):
    refuse(make_zip(plugin_files()[:1]), plugins_folder, "hello/ in the zip has no plugin.toml")


def test_refuses_a_missing_init(plugins_folder):
    refuse(make_zip(plugin_files()[1:]), plugins_folder, "hello/ in the zip has no __init__.py")


def test_refuses_a_manifest_naming_another_plugin(plugins_folder):
    files = [("hello/__init__.py", b""), ("hello/plugin.toml", manifest("goodbye"))]
    refuse(make_zip(files), plugins_folder, "names the plugin 'goodbye' but its folder is 'hello'")


def test_refuses_an_invalid_manifest(plugins_folder):
    files = [("hello/__init__.py", b""), ("hello/plugin.toml", b'name = "hello"\n')]
    refuse(make_zip(files), plugins_folder, "Invalid manifest: plugin.toml lacks title")
    files = [("hello/__init__.py", b""), ("hello/plugin.toml", b"name = [")]
    refuse(make_zip(files), plugins_folder, "not valid TOML")


def test_refuses_an_incompatible_plugin(plugins_folder):
    data = make_zip(plugin_files(requires_core=">=99"))
    refuse(data, plugins_folder, "not compatible: it requires Couvée >=99")


# -- refusals: names ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["json", "flask", "core", "plugins"])
def test_refuses_a_name_shadowing_a_module(plugins_folder, name):
    refuse(make_zip(plugin_files(name)), plugins_folder, f"{name!r} is already taken by an importable")


def test_refuses_a_name_taken_by_another_plugin(plugins_folder):
    refuse(make_zip(plugin_files("forms")), plugins_folder, "'forms' is already installed", taken={"forms"})


def test_refuses_a_name_already_uploaded(plugins_folder):
    refuse(make_zip(plugin_files("other")), plugins_folder, "'other' is already uploaded")
