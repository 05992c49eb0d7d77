"""Languages and time zones: Flask-Babel wired to Couvée's settings, users and
contacts, with one message catalogue (a gettext *domain*) per plugin.

Which language a response speaks (:func:`select_locale`), first match wins:

1. the contact's language, on a page or message made for one contact
   (:func:`use_contact_language`, :func:`contact_language`): what a recipient
   sees does not depend on who else is logged in, so an admin opening an
   unsubscribe link sees what the contact sees;
2. on admin pages, the logged-in user's language (their account page);
3. the browser's ``Accept-Language`` (French or English);
4. the instance default, setting *General → Default language* (French unless
   changed, or ``COUVEE_LANGUAGE``).

Times are stored in UTC and shown in the instance time zone (*General →
Default timezone*, Europe/Paris by default) with Babel's formats, through the
``localdatetime`` template filter or :func:`format_local`.

Domains: core's catalogue is ``core/translations/<lang>/LC_MESSAGES/core.po``;
a plugin's is ``<plugin>/translations/<lang>/LC_MESSAGES/<plugin>.po``. A
plugin's Python code translates with its own domain::

    from core import translation_domain
    _, _l = translation_domain(__name__).pair()   # gettext and lazy_gettext

and a plugin's templates (``templates/<plugin>/...``) use its domain for
``{% trans %}``/``_()``, falling back to core's catalogue (the admin layout's
strings). Catalogues are read from the ``.po`` files (compiled in memory once
per process), or from a ``.mo`` next to it when that one is newer: a fresh
checkout needs no compile step. See docs/i18n.md.
"""
from __future__ import annotations

import io
import logging
import sys
from datetime import datetime, timezone as dt_timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import current_app, g, has_request_context, request
from flask_babel import Babel, Domain, force_locale, format_date, format_datetime, get_locale, refresh
from jinja2 import pass_context

log = logging.getLogger("couvee.i18n")

#: the languages Couvée speaks (English is the source language of every message)
LANGUAGES = {"fr": "Français", "en": "English"}
DEFAULT_LANGUAGE = "fr"
DEFAULT_TIMEZONE = "Europe/Paris"
CORE_DOMAIN = "core"
CORE_TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def language_choices() -> list[tuple[str, str]]:
    return list(LANGUAGES.items())


def valid_language(code) -> str | None:
    """``code`` if Couvée speaks it (``"fr-FR"`` → ``"fr"``), else None."""
    if not code:
        return None
    code = str(code).strip().replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


# -- catalogues ---------------------------------------------------------------

_loaded: dict[tuple[str, str, str], Translations | NullTranslations] = {}


def load_catalogue(directory: Path, domain: str, language: str) -> Translations | NullTranslations:
    """The compiled catalogue of ``domain`` for ``language``, cached per process."""
    key = (str(directory), domain, language)
    if key not in _loaded:
        _loaded[key] = read_catalogue(directory, domain, language)
    return _loaded[key]


def read_catalogue(directory: Path, domain: str, language: str) -> Translations | NullTranslations:
    """The ``.mo`` when it is newer than the ``.po``, else the ``.po``
    compiled in memory (fuzzy entries left out), else an empty catalogue."""
    folder = Path(directory) / language / "LC_MESSAGES"
    po, mo = folder / f"{domain}.po", folder / f"{domain}.mo"
    try:
        if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
            with mo.open("rb") as handle:
                return Translations(handle, domain=domain)
        if po.is_file():
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=language, domain=domain)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            return Translations(buffer, domain=domain)
    except Exception:  # a broken catalogue must not take pages down: English it is
        log.exception("could not read the %s catalogue of %s", language, domain)
    return NullTranslations()


class CouveeDomain(Domain):
    """A Flask-Babel domain reading one plugin's (or core's) catalogue, with
    core's catalogue as the fallback for messages it does not have."""

    def __init__(self, name: str, directory: Path, fallback: "CouveeDomain | None" = None):
        super().__init__(translation_directories=[str(directory)], domain=name)
        self.name = name
        self.directory = Path(directory)
        self.fallback = fallback

    def translations_for(self, language: str):
        if self.fallback is None:
            return load_catalogue(self.directory, self.name, language)
        key = ("with fallback " + str(self.directory), self.name, language)
        if key not in _loaded:
            own = read_catalogue(self.directory, self.name, language)  # a copy: add_fallback changes it
            own.add_fallback(self.fallback.translations_for(language))
            _loaded[key] = own
        return _loaded[key]

    def get_translations(self):
        locale = get_locale()
        if locale is None:  # no application at all: the source language
            return NullTranslations()
        return self.translations_for(str(locale.language))

    def pair(self):
        """``(gettext, lazy_gettext)`` bound to this domain: ``_, _l = ...pair()``."""
        return self.gettext, self.lazy_gettext


_domains: dict[str, CouveeDomain] = {}


def core_domain() -> CouveeDomain:
    if CORE_DOMAIN not in _domains:
        _domains[CORE_DOMAIN] = CouveeDomain(CORE_DOMAIN, CORE_TRANSLATIONS)
    return _domains[CORE_DOMAIN]


def plugin_domain(name: str, package_dir: Path) -> CouveeDomain:
    """The domain of plugin ``name`` whose package is ``package_dir``."""
    domain = _domains.get(name)
    if domain is None or domain.directory != Path(package_dir) / "translations":
        domain = _domains[name] = CouveeDomain(name, Path(package_dir) / "translations", fallback=core_domain())
    return domain


def translation_domain(module_name: str) -> CouveeDomain:
    """The gettext domain of the plugin (or core) that ``module_name`` belongs
    to, e.g. in ``plugins/gdpr/views.py``::

        from core import translation_domain
        _, _l = translation_domain(__name__).pair()
        flash(_("Your request is recorded."))

    Bundled plugins (``plugins.<name>...``) and installed ones (``<name>...``)
    get the domain named after the plugin, read from the ``translations/``
    folder of the plugin's package; core's modules get core's domain."""
    parts = module_name.split(".")
    if parts[0] == "core":
        return core_domain()
    package = ".".join(parts[:2]) if parts[0] == "plugins" and len(parts) > 1 else parts[0]
    module = sys.modules.get(package)
    location = getattr(module, "__file__", None)
    if location is None:
        raise LookupError(f"{module_name}: import the plugin package before asking for its domain")
    return plugin_domain(package.split(".")[-1], Path(location).resolve().parent)


def domain_of_template(template_name: str | None) -> CouveeDomain:
    """Templates are namespaced by plugin (``gdpr/banner.html``, or
    ``gdpr:banner.html`` through the prefix loader): the domain of that plugin
    when it has one, else core's."""
    if template_name:
        first = template_name.replace(":", "/").split("/")[0]
        domain = _domains.get(first)
        if domain is not None:
            return domain
    return core_domain()


# -- selection ----------------------------------------------------------------


def default_language() -> str:
    from ..settings import get_setting

    try:
        return valid_language(get_setting("general", "language")) or DEFAULT_LANGUAGE
    except Exception:  # no database on this request (a tracking hit)
        return DEFAULT_LANGUAGE


def instance_timezone() -> str:
    from ..settings import get_setting

    try:
        name = get_setting("general", "timezone") or DEFAULT_TIMEZONE
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_TIMEZONE
    except Exception:
        return DEFAULT_TIMEZONE


def clean_timezone(text: str) -> str:
    """The time zone setting's check: an IANA name (``Europe/Paris``)."""
    name = text.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (e.g. Europe/Paris)") from None
    return name


def contact_language(contact) -> str:
    """The language to write to ``contact`` in: theirs, else the instance default."""
    return valid_language(getattr(contact, "language", None)) or default_language()


def use_language(language: str) -> str:
    """Make the rest of this request speak ``language`` (a page whose
    language is known: a French form's confirmation page)."""
    g.couvee_locale = valid_language(language) or default_language()
    refresh()
    return g.couvee_locale


def use_contact_language(contact) -> str:
    """Make the rest of this request speak ``contact``'s language (a page
    made for one recipient: unsubscribe, preferences, privacy requests)."""
    g.couvee_locale = contact_language(contact)
    refresh()
    return g.couvee_locale


def for_contact(contact):
    """A context manager rendering in ``contact``'s language, in a request or
    in a worker job: ``with for_contact(contact): body = render(...)``."""
    return force_locale(contact_language(contact))


def select_locale() -> str:
    forced = g.get("couvee_locale")
    if forced:
        return forced
    if has_request_context():
        if request.path.startswith(("/admin", "/setup")):
            from ..auth import current_user

            try:
                user = current_user()
            except Exception:
                user = None
            language = valid_language(getattr(user, "language", None))
            if language:
                return language
        g.couvee_locale_from_browser = True  # the response varies with Accept-Language
        best = request.accept_languages.best_match(list(LANGUAGES))
        if best:
            return valid_language(best) or default_language()
    return default_language()


def select_timezone() -> str:
    if "couvee_timezone" not in g:
        g.couvee_timezone = instance_timezone()
    return g.couvee_timezone


def format_local(value, format: str = "short") -> str:
    """A UTC datetime shown in the instance time zone, in the current
    language (``12/07/2026 14:00`` in French, ``7/12/26, 2:00 PM`` in English)."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return format_datetime(value, format)


def format_local_date(value, format: str = "short") -> str:
    """The day of a UTC datetime in the instance time zone (``12/07/2026``)."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return format_date(value, format)


# -- the app ------------------------------------------------------------------


@pass_context
def _template_gettext(context, message):
    return domain_of_template(context.name).get_translations().ugettext(message)


@pass_context
def _template_ngettext(context, singular, plural, number):
    return domain_of_template(context.name).get_translations().ungettext(singular, plural, number)


def init_app(app) -> None:
    """Flask-Babel on ``app``, the active plugins' domains, template helpers."""
    state = app.extensions["couvee"]
    core_domain()
    for name in state.host.active:
        info = state.host.discovered.get(name)
        if info is not None and info.path is not None and (info.path / "translations").is_dir():
            plugin_domain(name, info.path)
    @app.before_request
    def forget_previous_language():  # g outlives a request inside an outer app context
        for key in ("_flask_babel", "couvee_locale", "couvee_timezone", "couvee_locale_from_browser"):
            g.pop(key, None)

    @app.after_request
    def vary_on_language(response):
        """A page translated by the browser's language must not be served from a
        shared cache to a browser asking for another."""
        if g.get("couvee_locale_from_browser") and not g.get("couvee_locale"):
            response.vary.add("Accept-Language")
        return response

    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone,
          default_domain=CORE_DOMAIN, default_translation_directories=str(CORE_TRANSLATIONS))
    app.extensions["babel"].instance.domain_instance = core_domain()  # Python code's gettext: core's catalogue
    app.jinja_env.install_gettext_callables(_template_gettext, _template_ngettext, newstyle=True)
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # a {% trans %} block's line breaks are not in its msgid
    app.jinja_env.filters["localdatetime"] = format_local
    app.jinja_env.filters["localdate"] = format_local_date
    app.jinja_env.globals.update(current_language=current_language, languages=LANGUAGES,
                                 default_language=default_language)


def current_language() -> str:
    locale = get_locale()
    return str(locale.language) if locale else DEFAULT_LANGUAGE
