"""Find plugins and read their manifests, without importing them.

Three sources, in this order (a name seen twice keeps the first):
- bundled: the packages under ``plugins/`` shipped with Couvée;
- entry points: the group ``couvee.plugins`` of pip-installed distributions;
- the instance's ``plugins/`` folder, filled by the admin's zip upload.

Every plugin package carries a ``plugin.toml`` manifest::

    name = "forms"               # identifier, also the template prefix
    title = "Forms"
    version = "1.2.0"
    description = "Form builder, embeds and submissions"
    author = "Couvée"
    requires_core = ">=0.1"      # a PEP 440 specifier on Couvée's version
    requires = ["segments>=1"]   # optional: other plugins, by name, with a
                                 # PEP 440 specifier on their manifest version
    formerly = "old_name"        # optional: the name the plugin had before (a
                                 # core module that became a plugin, a rename)

    [queues.forms]               # optional: RQ queues of the plugin's own
    label = "Form submissions"   # (what its jobs do, on the dashboard);
    sends = false                # true: running jobs count as sends in /metrics

    [translations.fr]            # optional: the title and description in
    title = "Formulaires"        # another language, shown on the Plugins page
    description = "Éditeur de formulaires, intégrations et soumissions"
    queues = { forms = "Soumissions de formulaires" }   # queue labels

See ``core.plugins.dependencies`` for what ``requires`` changes,
``core.plugins.lifecycle.adopt_former_names`` for ``formerly`` and
``core.queue`` for ``queues``.
"""
from __future__ import annotations

import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from ..version import __version__ as CORE_VERSION

ENTRY_POINT_GROUP = "couvee.plugins"
MANIFEST = "plugin.toml"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
REQUIRED_KEYS = ("name", "title", "version", "description", "author", "requires_core")
#: the queues core fills itself (``core.queue``); a plugin may not declare one
CORE_QUEUES = ("events", "default", "low")


@dataclass(frozen=True)
class DeclaredQueue:
    """A queue a plugin's manifest declares (``[queues.NAME]``)."""

    name: str
    label: str
    #: its running jobs are sends (``couvee_sends_in_progress`` in /metrics)
    sends: bool = False


class ManifestError(ValueError):
    pass


@dataclass
class PluginInfo:
    name: str
    module_name: str
    source: str  # bundled | entrypoint | instance
    path: Path | None
    title: str = ""
    version: str = ""
    description: str = ""
    author: str = ""
    requires_core: str = ""
    #: other plugins this one needs (``requires`` in the manifest)
    requires: list[Requirement] = field(default_factory=list)
    #: the name this plugin had before (``formerly`` in the manifest), whose
    #: migration records and enabled state it adopts
    formerly: str = ""
    #: language -> {"title": ..., "description": ..., "queues": {name: label}}
    translations: dict[str, dict] = field(default_factory=dict)
    #: the plugin's own RQ queues (``[queues.NAME]``), in manifest order
    queues: list[DeclaredQueue] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def title_in(self, language: str) -> str:
        """The title in ``language`` when the manifest gives one, else the title."""
        return self.translations.get(language, {}).get("title") or self.title or self.name

    def description_in(self, language: str) -> str:
        return self.translations.get(language, {}).get("description") or self.description

    def queue_label_in(self, queue: DeclaredQueue, language: str) -> str:
        return self.translations.get(language, {}).get("queues", {}).get(queue.name) or queue.label

    @property
    def loadable(self) -> bool:
        return not self.problems

    @property
    def templates_path(self) -> Path | None:
        if self.path and (self.path / "templates").is_dir():
            return self.path / "templates"
        return None


def parse_requires(value) -> list[Requirement]:
    """The manifest's ``requires``: a list of requirement strings naming other
    plugins, e.g. ``["segments>=1", "email"]`` (no extras, markers or URLs)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ManifestError(f"{MANIFEST}: requires must be a list of strings like \"segments>=1\"")
    requirements = []
    for text in value:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            raise ManifestError(f"{MANIFEST}: requires {text!r} is not a requirement like \"segments>=1\"") from None
        if requirement.extras or requirement.marker or requirement.url:
            raise ManifestError(f"{MANIFEST}: requires {text!r} may only name a plugin and a version specifier")
        if not NAME_PATTERN.match(requirement.name):
            raise ManifestError(f"{MANIFEST}: requires {text!r} does not name a plugin")
        if any(other.name == requirement.name for other in requirements):
            raise ManifestError(f"{MANIFEST}: requires names {requirement.name} twice")
        requirements.append(requirement)
    return requirements


def parse_formerly(value, name: str) -> str:
    """The manifest's ``formerly``: the plugin's previous name (or ``""``)."""
    if not isinstance(value, str) or (value and not NAME_PATTERN.match(value)):
        raise ManifestError(f"{MANIFEST}: formerly must be a plugin name like \"old_name\"")
    if value == name:
        raise ManifestError(f"{MANIFEST}: formerly names the plugin itself")
    return value


def parse_queues(value) -> list[DeclaredQueue]:
    """The manifest's ``[queues.NAME]`` tables: a ``label`` (required) and
    ``sends`` (optional, false) per queue; the name follows plugin names'
    rules and may not be one of core's queues."""
    if not isinstance(value, dict):
        raise ManifestError(f"{MANIFEST}: queues must be tables like [queues.forms]")
    found = []
    for name, table in value.items():
        if not NAME_PATTERN.match(name) or name in CORE_QUEUES:
            raise ManifestError(f"{MANIFEST}: [queues.{name}] must name a queue of the plugin's own "
                                f"(2-40 lowercase letters, digits or _; not {', '.join(CORE_QUEUES)})")
        if not isinstance(table, dict) or set(table) - {"label", "sends"} \
                or not str(table.get("label", "")).strip() or not isinstance(table.get("sends", False), bool):
            raise ManifestError(f"{MANIFEST}: [queues.{name}] needs a label (text) and may say sends = true")
        found.append(DeclaredQueue(name, str(table["label"]).strip(), table.get("sends", False)))
    return found


def parse_translations(value) -> dict[str, dict]:
    """The manifest's ``[translations.<language>]`` tables: a ``title``, a
    ``description`` and ``queues`` (queue name -> label) per language code
    (``fr``, ``de``...), each optional."""
    if not isinstance(value, dict):
        raise ManifestError(f"{MANIFEST}: translations must be tables like [translations.fr]")
    found = {}
    for language, texts in value.items():
        if not re.fullmatch(r"[a-z]{2,3}", str(language)) or not isinstance(texts, dict):
            raise ManifestError(f"{MANIFEST}: [translations.{language}] must be a table under a language code")
        queues = texts.pop("queues", {})
        unknown = set(texts) - {"title", "description"}
        if unknown or not all(isinstance(text, str) for text in texts.values()):
            raise ManifestError(f"{MANIFEST}: [translations.{language}] may hold a title and a description (text)")
        if not isinstance(queues, dict) or not all(isinstance(text, str) for text in queues.values()):
            raise ManifestError(f"{MANIFEST}: [translations.{language}] queues must map queue names to labels")
        found[language] = {key: text.strip() for key, text in texts.items() if text.strip()}
        if queues:
            found[language]["queues"] = {name: text.strip() for name, text in queues.items() if text.strip()}
    return found


def parse_manifest(text: str) -> dict:
    """Validate a manifest's text; return its values or raise ManifestError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"{MANIFEST} is not valid TOML: {error}") from None
    missing = [key for key in REQUIRED_KEYS if not str(data.get(key, "")).strip()]
    if missing:
        raise ManifestError(f"{MANIFEST} lacks {', '.join(missing)}")
    if not NAME_PATTERN.match(str(data["name"])):
        raise ManifestError(
            f"{MANIFEST}: name {data['name']!r} must be 2-40 lowercase letters, digits or _, "
            "starting with a letter"
        )
    try:
        SpecifierSet(str(data["requires_core"]))
    except InvalidSpecifier:
        raise ManifestError(f"{MANIFEST}: requires_core {data['requires_core']!r} is not a version specifier") from None
    values = {key: str(data[key]) for key in REQUIRED_KEYS}
    values["requires"] = parse_requires(data.get("requires", []))
    values["formerly"] = parse_formerly(data.get("formerly", ""), values["name"])
    values["translations"] = parse_translations(data.get("translations", {}))
    values["queues"] = parse_queues(data.get("queues", {}))
    if any(requirement.name == values["name"] for requirement in values["requires"]):
        raise ManifestError(f"{MANIFEST}: {values['name']} requires itself")
    return values


def compatibility_problem(requires_core: str) -> str | None:
    if Version(CORE_VERSION) in SpecifierSet(requires_core):
        return None
    return f"requires Couvée {requires_core}, this is {CORE_VERSION}"


def info_from_dir(path: Path, module_name: str, source: str) -> PluginInfo:
    info = PluginInfo(name=path.name, module_name=module_name, source=source, path=path)
    manifest = path / MANIFEST
    if not manifest.is_file():
        info.problems.append(f"no {MANIFEST} manifest")
        return info
    try:
        values = parse_manifest(manifest.read_text(encoding="utf-8"))
    except (ManifestError, UnicodeDecodeError) as error:
        info.problems.append(str(error))
        return info
    for key, value in values.items():
        setattr(info, key, value)
    problem = compatibility_problem(info.requires_core)
    if problem:
        info.problems.append(problem)
    return info


def bundled_plugins() -> list[PluginInfo]:
    spec = importlib.util.find_spec("plugins")
    if spec is None or not spec.submodule_search_locations:
        return []
    found = []
    for location in spec.submodule_search_locations:
        if not Path(location).is_dir():
            continue
        for child in sorted(Path(location).iterdir()):
            if (child / "__init__.py").is_file():
                found.append(info_from_dir(child, f"plugins.{child.name}", "bundled"))
    return found


def entry_point_plugins() -> list[PluginInfo]:
    found = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        module_name = point.value.split(":")[0]
        spec = importlib.util.find_spec(module_name)
        if spec is None or not spec.submodule_search_locations:
            info = PluginInfo(name=point.name, module_name=module_name, source="entrypoint", path=None)
            info.problems.append(f"entry point {point.value!r} is not an importable package")
            found.append(info)
            continue
        found.append(info_from_dir(Path(spec.submodule_search_locations[0]), module_name, "entrypoint"))
    return found


def instance_plugins(folder: Path) -> list[PluginInfo]:
    if not folder.is_dir():
        return []
    return [
        info_from_dir(child, child.name, "instance")
        for child in sorted(folder.iterdir())
        if child.is_dir() and (child / "__init__.py").is_file()
    ]


def discover(instance_plugins_folder: Path) -> dict[str, PluginInfo]:
    plugins: dict[str, PluginInfo] = {}
    queue_owners: dict[str, str] = {}
    for info in bundled_plugins() + entry_point_plugins() + instance_plugins(instance_plugins_folder):
        if info.name in plugins:
            continue
        plugins[info.name] = info
        for queue in info.queues:
            if queue.name in queue_owners:
                info.problems.append(f"declares the queue {queue.name}, already the queue of {queue_owners[queue.name]}")
            elif info.loadable:
                queue_owners[queue.name] = info.name
    return plugins
