"""Message catalogues: extract a domain's messages, update its translations,
compile them (``couvee translations extract|update|compile``), with Babel's
own extractors (Python, and Jinja's for templates).

A domain is core (``core/``, catalogue in ``core/translations/``) or one
plugin (``<plugin>/``, catalogue in ``<plugin>/translations/``); its template
file is ``translations/<domain>.pot`` and each language's catalogue
``translations/<lang>/LC_MESSAGES/<domain>.po``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from . import CORE_DOMAIN, LANGUAGES

#: where messages are: Python modules, and Jinja templates (``{% trans %}``, ``_()``)
METHOD_MAP = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/templates/**.txt", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
_JINJA = {"extensions": "jinja2.ext.do", "newstyle_gettext": "true", "trimmed": "true"}
OPTIONS_MAP = {"**/templates/**.html": _JINJA, "**/templates/**.txt": _JINJA}
KEYWORDS = {"N_": None, "_n": None, "_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "lazy_ngettext": (1, 2),
            "_l": None, "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}
#: translated languages (English is the language of the source)
TRANSLATED = [code for code in LANGUAGES if code != "en"]
#: folders of core that hold no messages to translate
CORE_SKIP = ("translations/", "static/")
ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class Domain:
    name: str
    source: Path      # the package folder scanned for messages

    @property
    def translations(self) -> Path:
        return self.source / "translations"

    @property
    def template(self) -> Path:
        return self.translations / f"{self.name}.pot"

    def po(self, language: str) -> Path:
        return self.translations / language / "LC_MESSAGES" / f"{self.name}.po"


def bundled_domains() -> list[Domain]:
    """Core's domain and each bundled plugin that has a ``translations`` folder."""
    domains = [Domain(CORE_DOMAIN, ROOT / "core")]
    for folder in sorted((ROOT / "plugins").iterdir()):
        if (folder / "translations").is_dir() and (folder / "__init__.py").is_file():
            domains.append(Domain(folder.name, folder))
    return domains


def domain_named(name: str | None, plugin_path: str | None = None) -> Domain:
    if plugin_path:
        folder = Path(plugin_path).resolve()
        return Domain(folder.name, folder)
    if name in (None, CORE_DOMAIN):
        return Domain(CORE_DOMAIN, ROOT / "core")
    folder = ROOT / "plugins" / name
    if not (folder / "__init__.py").is_file():
        raise LookupError(f"no bundled plugin named {name!r} (for another plugin, give its folder with --path)")
    return Domain(name, folder)


def extract(domain: Domain) -> Catalog:
    """A fresh catalogue of every message wrapped in the domain's sources."""
    catalog = Catalog(project="couvee", domain=domain.name, charset="utf-8", fuzzy=False)
    skip = CORE_SKIP if domain.name == CORE_DOMAIN else ("translations/", "static/")

    def keep(filename, method, options):
        return not any(filename.replace("\\", "/").startswith(prefix) for prefix in skip) \
            and "__pycache__" not in filename

    for filename, lineno, message, comments, context in extract_from_dir(
            str(domain.source), METHOD_MAP, OPTIONS_MAP, KEYWORDS, comment_tags=("Translators:",),
            callback=None, strip_comment_tags=True):
        if not keep(filename, None, None):
            continue
        catalog.add(message, None, [(filename, None)], auto_comments=comments, context=context)
    return catalog


def messages_of(catalog: Catalog) -> set:
    return {(message.id if isinstance(message.id, str) else tuple(message.id), message.context)
            for message in catalog if message.id}


def write_template(domain: Domain) -> Catalog:
    catalog = extract(domain)
    domain.translations.mkdir(parents=True, exist_ok=True)
    with domain.template.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, omit_header=False, include_lineno=False)
    return catalog


def update(domain: Domain) -> list[Path]:
    """Merge the ``.pot`` into each language's ``.po`` (new messages are added
    untranslated, vanished ones dropped, changed ones marked fuzzy)."""
    with domain.template.open("rb") as handle:
        template = read_po(handle)
    written = []
    for language in TRANSLATED:
        path = domain.po(language)
        if path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language, domain=domain.name)
            catalog.update(template, no_fuzzy_matching=False)
            catalog.obsolete.clear()
        else:
            catalog = Catalog(locale=language, domain=domain.name, project="couvee", charset="utf-8")
            catalog.update(template)
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, include_lineno=False)
        written.append(path)
    return written


def compile_domain(domain: Domain) -> list[Path]:
    """Write the ``.mo`` beside each ``.po`` (optional: catalogues are read from
    the ``.po`` when no newer ``.mo`` exists)."""
    written = []
    for language in TRANSLATED:
        po = domain.po(language)
        if not po.is_file():
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=domain.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(mo)
    return written


def problems(domain: Domain, language: str) -> dict[str, list[str]]:
    """Untranslated and fuzzy messages of a language's catalogue."""
    with domain.po(language).open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=domain.name)
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if not all(strings):
            untranslated.append(str(message.id))
        if message.fuzzy:
            fuzzy.append(str(message.id))
    return {"untranslated": untranslated, "fuzzy": fuzzy}
