"""Every message wrapped for translation is in its domain's catalogue, and the
French catalogue of each domain is complete: nothing untranslated, nothing
fuzzy (a fuzzy entry is a guess that would be shown as English)."""
from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from core.i18n import catalogues, load_catalogue, read_catalogue

DOMAINS = catalogues.bundled_domains()


def test_core_and_the_translated_plugins_have_a_domain():
    assert {"core", "email", "gdpr"} <= {domain.name for domain in DOMAINS}


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_a_fresh_extraction_equals_the_committed_template(domain):
    with domain.template.open("rb") as handle:
        committed = read_po(handle)
    fresh = catalogues.extract(domain)
    missing = catalogues.messages_of(fresh) - catalogues.messages_of(committed)
    stale = catalogues.messages_of(committed) - catalogues.messages_of(fresh)
    assert not missing and not stale, (
        f"run `couvee translations update --plugin {domain.name}` and translate: "
        f"missing {sorted(map(str, missing))}, stale {sorted(map(str, stale))}")


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
@pytest.mark.parametrize("language", catalogues.TRANSLATED)
def test_the_catalogue_is_complete(domain, language):
    with domain.template.open("rb") as handle:
        template = catalogues.messages_of(read_po(handle))
    with domain.po(language).open("rb") as handle:
        translated = catalogues.messages_of(read_po(handle))
    assert template <= translated, f"{domain.po(language)} lacks {sorted(map(str, template - translated))}"
    assert catalogues.problems(domain, language) == {"untranslated": [], "fuzzy": []}


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_translations_keep_their_placeholders(domain):
    import re

    with domain.po("fr").open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)s", ids[-1]))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)s", string)) == wanted, (message.id, string)


def test_a_catalogue_is_read_from_the_po_without_a_compile_step(tmp_path):
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "demo.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Hello"\nmsgstr "Bonjour"\n\n#, fuzzy\nmsgid "Guess"\nmsgstr "Devinette"\n', encoding="utf-8")
    translations = read_catalogue(tmp_path, "demo", "fr")
    assert translations.gettext("Hello") == "Bonjour"
    assert translations.gettext("Guess") == "Guess"  # a fuzzy entry is not used
    assert load_catalogue(tmp_path, "missing", "fr").gettext("Hello") == "Hello"


def test_the_cli_extracts_updates_and_compiles_a_plugin_catalogue(tmp_path):
    import shutil

    from click.testing import CliRunner

    from core.cli import main

    plugin = tmp_path / "gdpr"
    shutil.copytree(catalogues.ROOT / "plugins" / "gdpr", plugin, ignore=shutil.ignore_patterns("__pycache__"))
    (plugin / "templates" / "gdpr" / "extra.html").write_text("<p>{% trans %}A brand new sentence{% endtrans %}</p>")
    runner = CliRunner()
    updated = runner.invoke(main, ["translations", "update", "--path", str(plugin)])
    assert updated.exit_code == 0, updated.output
    assert "1 untranslated, 0 fuzzy" in updated.output  # the new sentence; the rest kept its French
    assert "A brand new sentence" in (plugin / "translations" / "gdpr.pot").read_text()
    compiled = runner.invoke(main, ["translations", "compile", "--path", str(plugin)])
    assert compiled.exit_code == 0 and (plugin / "translations" / "fr" / "LC_MESSAGES" / "gdpr.mo").is_file()
    assert read_catalogue(plugin / "translations", "gdpr", "fr").gettext("Your data") == "Vos données"
