"""Unit tests for the core field types (core/fields.py).

The example fields come from the Okédito article on contact management: a
SaaS vendor's revenue (text), geographic zone (single select), "uses Excel?"
(yes/no), company creation date (date) and specification document (file).
"""
import datetime as dt
import types

import flask
import pytest
from markupsafe import Markup

from core.extension import FieldType, FieldValueError
from core.fields import (
    CORE_FIELD_TYPES,
    TEXT_MAX_LENGTH,
    BooleanFieldType,
    DateFieldType,
    FileFieldType,
    MultiSelectFieldType,
    SelectFieldType,
    TextFieldType,
)

HOSTILE = '"><script>alert(1)</script>'
ZONES = ["NORAM", "LATAM", "EMEA", "APAC"]


def custom_field(options=None, type_id="text"):
    """A stand-in for a CustomField row (only ``options`` is read)."""
    return types.SimpleNamespace(key="f", label="F", type_id=type_id, options=options or [])


zone = custom_field(ZONES, "select")
sizes = custom_field(["TPE", "PME", "ETI", "ENT"], "multiselect")


# --- registry shape -----------------------------------------------------------


def test_core_field_types_are_the_six_of_the_article():
    assert [t.id for t in CORE_FIELD_TYPES] == ["text", "boolean", "select", "multiselect", "date", "file"]
    assert all(isinstance(t, FieldType) for t in CORE_FIELD_TYPES)
    assert all(t.label for t in CORE_FIELD_TYPES)
    assert [t.id for t in CORE_FIELD_TYPES if t.multi_valued] == ["multiselect"]
    assert [t.id for t in CORE_FIELD_TYPES if t.is_file] == ["file"]
    assert BooleanFieldType.label == "Yes/No"
    assert TextFieldType.label == "Text"


def test_operators():
    by_id = {t.id: t for t in CORE_FIELD_TYPES}
    assert set(by_id["text"].operators) == {
        "equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with", "empty", "not_empty", "in",
    }  # fmt: skip
    assert set(by_id["boolean"].operators) == {"equals", "empty", "not_empty"}
    assert set(by_id["select"].operators) == {"equals", "not_equals", "in", "not_in", "empty", "not_empty"}
    assert set(by_id["multiselect"].operators) == {"contains", "not_contains", "contains_all", "empty", "not_empty"}
    assert set(by_id["date"].operators) == {
        "equals", "before", "after", "within_last_days", "within_next_days", "anniversary_in_days", "empty", "not_empty",
    }  # fmt: skip
    assert set(by_id["file"].operators) == {"empty", "not_empty"}


@pytest.mark.parametrize("field_type", CORE_FIELD_TYPES, ids=lambda t: t.id)
@pytest.mark.parametrize("blank", [None, "", "   ", [], ["", "  "]])
def test_blank_is_none(field_type, blank):
    assert field_type.parse(blank, zone if field_type.id == "select" else sizes) is None


# --- text ---------------------------------------------------------------------


def test_text_revenue():
    text = TextFieldType()
    assert text.parse("  1,2 M€  ") == "1,2 M€"
    assert text.parse(["5 M€"]) == "5 M€"
    assert text.display("1,2 M€") == "1,2 M€"


def test_text_max_length():
    text = TextFieldType()
    assert text.parse("a" * TEXT_MAX_LENGTH) == "a" * TEXT_MAX_LENGTH
    with pytest.raises(FieldValueError, match=r"5001 characters long; the maximum is 5000"):
        text.parse("a" * (TEXT_MAX_LENGTH + 1))


def test_text_refuses_several_values():
    with pytest.raises(FieldValueError, match=r'single value, got 2: "a", "b"'):
        TextFieldType().parse(["a", "b"])


# --- yes / no -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["oui", "OUI", " Oui ", "yes", "Y", "true", "1", "o", "vrai", "x", "X", "on", True]
)
def test_boolean_yes(text):
    assert BooleanFieldType().parse(text) == "1"


@pytest.mark.parametrize("text", ["non", "NON", " Non ", "no", "n", "false", "FALSE", "0", "faux", False])
def test_boolean_no(text):
    assert BooleanFieldType().parse(text) == "0"


def test_boolean_uses_excel_from_form_lists():
    boolean = BooleanFieldType()
    # checked: checkbox value then the hidden "0"; unchecked: only the hidden "0"
    assert boolean.parse(["1", "0"]) == "1"
    assert boolean.parse(["0"]) == "0"


def test_boolean_invalid():
    with pytest.raises(FieldValueError, match=r'"peut-être" is not a yes/no answer; use yes or no'):
        BooleanFieldType().parse("peut-être")


def test_boolean_display():
    boolean = BooleanFieldType()
    assert boolean.display("1") == "Yes"
    assert boolean.display("0") == "No"
    assert boolean.display(None) == ""


def test_boolean_widget():
    boolean = BooleanFieldType()
    checked = boolean.render_widget("uses_excel", "1")
    assert isinstance(checked, Markup)
    assert checked == (
        '<input type="checkbox" name="uses_excel" value="1" checked>'
        '<input type="hidden" name="uses_excel" value="0">'
    )
    assert " checked" not in boolean.render_widget("uses_excel", "0")
    assert " checked" not in boolean.render_widget("uses_excel", None)


def test_boolean_widget_submits_first_value_as_the_answer():
    """With werkzeug's MultiDict, .get returns the first value: the checkbox
    comes before the hidden input so a checked box reads as yes."""
    from werkzeug.datastructures import MultiDict

    checked = MultiDict([("uses_excel", "1"), ("uses_excel", "0")])
    unchecked = MultiDict([("uses_excel", "0")])
    boolean = BooleanFieldType()
    assert boolean.parse(checked.get("uses_excel")) == "1"
    assert boolean.parse(checked.getlist("uses_excel")) == "1"
    assert boolean.parse(unchecked.get("uses_excel")) == "0"


# --- single select --------------------------------------------------------------


def test_select_zone():
    select = SelectFieldType()
    assert select.parse("EMEA", zone) == "EMEA"
    assert select.parse(" emea ", zone) == "EMEA"
    assert select.parse(["Apac"], zone) == "APAC"


def test_select_invalid_lists_the_choices():
    with pytest.raises(FieldValueError) as error:
        SelectFieldType().parse("Mars", zone)
    assert str(error.value) == '"Mars" is not one of the choices: NORAM, LATAM, EMEA, APAC'


def test_select_without_options():
    with pytest.raises(FieldValueError, match="no choices are configured"):
        SelectFieldType().parse("EMEA", custom_field([]))


def test_select_widget():
    html = SelectFieldType().render_widget("zone", "EMEA", zone)
    assert html.startswith('<select name="zone"><option value=""></option>')
    assert '<option value="EMEA" selected>EMEA</option>' in html
    assert '<option value="NORAM">NORAM</option>' in html
    assert html.count("selected") == 1
    assert html.endswith("</select>")


def test_select_widget_keeps_a_removed_option():
    html = SelectFieldType().render_widget("zone", "AFRICA", zone)
    assert '<option value="AFRICA" selected>AFRICA</option>' in html


# --- multiple select ------------------------------------------------------------


def test_multiselect_from_text_with_any_separator():
    multi = MultiSelectFieldType()
    assert multi.parse("pme, TPE", sizes) == ["PME", "TPE"]
    assert multi.parse("ENT;eti|PME", sizes) == ["ENT", "ETI", "PME"]
    assert multi.parse("PME, PME , pme", sizes) == ["PME"]


def test_multiselect_from_form_list():
    multi = MultiSelectFieldType()
    assert multi.parse(["", "TPE", "ENT", "TPE"], sizes) == ["ENT", "TPE"]


def test_multiselect_option_containing_a_separator():
    cities = custom_field(["Paris, France", "Lyon"])
    assert MultiSelectFieldType().parse(["Paris, France", "Lyon"], cities) == ["Lyon", "Paris, France"]
    assert MultiSelectFieldType().parse("paris, france", cities) == ["Paris, France"]


def test_multiselect_invalid():
    multi = MultiSelectFieldType()
    with pytest.raises(FieldValueError) as error:
        multi.parse("PME, Mars", sizes)
    assert str(error.value) == '"Mars" is not one of the choices: TPE, PME, ETI, ENT'
    with pytest.raises(FieldValueError, match=r'"Mars", "Venus" are not among the choices: TPE, PME, ETI, ENT'):
        multi.parse(["Mars", "PME", "Venus"], sizes)


def test_multiselect_display_and_widget():
    multi = MultiSelectFieldType()
    assert multi.display(["ETI", "PME"]) == "ETI, PME"
    html = multi.render_widget("size", ["PME"], sizes)
    assert '<input type="hidden" name="size" value="">' in html
    assert '<input type="checkbox" name="size" value="PME" checked> PME' in html
    assert '<input type="checkbox" name="size" value="TPE"> TPE' in html
    assert html.count('type="checkbox"') == 4
    assert html.count("checked") == 1


# --- date -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["31/03/2024", "31-03-2024", "31.03.2024", "2024-03-31", " 2024-03-31 ", "2024-03-31T10:15:00Z",
     "2024-03-31 10:15", "2024-3-31", dt.date(2024, 3, 31), dt.datetime(2024, 3, 31, 23, 59)],
)  # fmt: skip
def test_date_creation_date(text):
    assert DateFieldType().parse(text) == "2024-03-31"


def test_date_single_digits_day_first():
    assert DateFieldType().parse("1/3/2024") == "2024-03-01"


@pytest.mark.parametrize("text", ["31/03/24", "March 31, 2024", "2024/03/31", "demain", "31/03-2024", "20240331"])
def test_date_unknown_format_names_the_formats(text):
    with pytest.raises(FieldValueError) as error:
        DateFieldType().parse(text)
    message = str(error.value)
    assert f'"{text}" is not a date' in message
    assert "2024-03-31" in message and "31/03/2024" in message and "31.03.2024" in message


def test_date_impossible_day():
    with pytest.raises(FieldValueError, match=r'"31/02/2024" is not a valid calendar date'):
        DateFieldType().parse("31/02/2024")
    with pytest.raises(FieldValueError, match=r'"2023-02-29" is not a valid calendar date'):
        DateFieldType().parse("2023-02-29")
    assert DateFieldType().parse("29/02/2024") == "2024-02-29"


def test_date_display_and_widget():
    date = DateFieldType()
    assert date.display("2024-03-31") == "2024-03-31"
    assert date.render_widget("created", "2024-03-31") == '<input type="date" name="created" value="2024-03-31">'
    assert date.render_widget("created", None) == '<input type="date" name="created" value="">'


# --- file -----------------------------------------------------------------------


def test_file_parse_ids():
    file = FileFieldType()
    assert file.parse(12) == "12"
    assert file.parse(" 12 ") == "12"
    assert file.parse(["12"]) == "12"
    assert file.parse(types.SimpleNamespace(id=7)) == "7"


@pytest.mark.parametrize("text", ["abc", "-1", "0", "1.5", "١٢", True])
def test_file_parse_invalid(text):
    with pytest.raises(FieldValueError, match="is not a stored file id"):
        FileFieldType().parse(text)


def test_file_display_and_widget_without_database():
    file = FileFieldType()
    assert file.display("12") == "File #12"
    html = file.render_widget("spec", "12")
    assert html.startswith('<input type="file" name="spec">')
    assert "Current file: File #12" in html
    assert file.render_widget("spec", None) == '<input type="file" name="spec">'


def test_file_display_and_widget_with_database(tmp_path):
    from core.db import init_database, open_database
    from core.files import files_blueprint
    from core.models import StoredFile

    database = open_database(f"sqlite:///{tmp_path}/t.db")
    init_database(database)
    database.connect()
    try:
        database.create_tables([StoredFile])
        stored = StoredFile.create(
            path="2024/03/abc.pdf", original_name="Cahier des charges <v2>.pdf",
            content_type="application/pdf", size=3, sha256="0" * 64,
        )  # fmt: skip
        file = FileFieldType()
        assert file.display(str(stored.id)) == "Cahier des charges <v2>.pdf"
        assert file.display("999") == "File #999"
        app = flask.Flask(__name__)
        app.register_blueprint(files_blueprint)
        with app.test_request_context():
            html = file.render_widget("spec", str(stored.id))
        assert f'<a href="/admin/files/{stored.id}">Cahier des charges &lt;v2&gt;.pdf</a>' in html
    finally:
        database.close()


# --- escaping -------------------------------------------------------------------


def _assert_escaped(html):
    assert isinstance(html, Markup)
    assert "<script>" not in html
    assert HOSTILE not in html
    assert "alert(1)</script>" not in html


@pytest.mark.parametrize("field_type", CORE_FIELD_TYPES, ids=lambda t: t.id)
def test_every_widget_escapes_a_hostile_value(field_type):
    hostile_field = custom_field([HOSTILE, "EMEA"])
    value = [HOSTILE] if field_type.multi_valued else HOSTILE
    html = field_type.render_widget("f", value, hostile_field)
    _assert_escaped(html)
    if field_type.id != "boolean":  # a yes/no widget never echoes its value
        assert "&lt;script&gt;" in html


@pytest.mark.parametrize("field_type", CORE_FIELD_TYPES, ids=lambda t: t.id)
def test_every_widget_escapes_a_hostile_name(field_type):
    html = field_type.render_widget(HOSTILE, None, zone)
    _assert_escaped(html)
    assert "&#34;&gt;&lt;script&gt;" in html


def test_hostile_option_escaped_when_not_selected():
    hostile_field = custom_field([HOSTILE, "EMEA"])
    for field_type in (SelectFieldType(), MultiSelectFieldType()):
        _assert_escaped(field_type.render_widget("f", None, hostile_field))


def test_hostile_value_is_named_in_errors_not_rendered():
    with pytest.raises(FieldValueError, match="not one of the choices"):
        SelectFieldType().parse(HOSTILE, zone)
    with pytest.raises(FieldValueError, match="is not a date"):
        DateFieldType().parse(HOSTILE)
