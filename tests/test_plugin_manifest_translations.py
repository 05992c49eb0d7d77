"""A plugin's manifest can give its title and description in other languages
(``[translations.fr]``); the Plugins page shows them in the reader's
language, English otherwise (issue 17)."""
from __future__ import annotations

import pytest

from core.plugins.discovery import ManifestError, bundled_plugins, parse_manifest

from .test_i18n import ENGLISH, FRENCH

BASE = ('name = "hello"\ntitle = "Hello"\nversion = "1.0.0"\ndescription = "Says hello"\nauthor = "You"\n'
        'requires_core = ">=0.1"\n')


def test_a_manifest_gives_its_title_and_description_per_language():
    values = parse_manifest(BASE + '[translations.fr]\ntitle = "Bonjour"\ndescription = "Dit bonjour"\n')
    assert values["translations"] == {"fr": {"title": "Bonjour", "description": "Dit bonjour"}}


@pytest.mark.parametrize("table", ['[translations.French]\ntitle = "x"\n', '[translations.fr]\nauthor = "x"\n',
                                   '[translations.fr]\ntitle = 3\n', 'translations = "fr"\n'])
def test_a_malformed_translation_table_is_refused_with_its_reason(table):
    with pytest.raises(ManifestError, match="translations"):
        parse_manifest(BASE + table)


def test_every_bundled_plugin_has_a_french_title_and_description():
    for info in bundled_plugins():
        assert not info.problems, (info.name, info.problems)
        assert info.title_in("fr") and info.description_in("fr") != info.description, info.name
        assert info.title_in("en") == info.title and info.description_in("de") == info.description


def test_the_plugins_page_shows_them_in_the_readers_language(admin):
    french = admin.get("/admin/plugins", headers=FRENCH)
    assert "Formulaires" in french.text and "Éditeur de formulaires" in french.text
    english = admin.get("/admin/plugins", headers=ENGLISH)
    assert "Form builder, embeds" in english.text and "Éditeur de formulaires" not in english.text
