"""The six core contact field types: text, yes/no, single select, multiple
select, date and file.

Each type turns what a user typed in a form or a CSV cell into the text that
is stored in :class:`core.models.ContactValue` (one row per value), renders its
form control, and declares the segment operators it supports.

Storage conventions (what segments filter on):

- ``text``: the stripped text, at most :data:`TEXT_MAX_LENGTH` characters;
- ``boolean``: ``"1"`` (yes) or ``"0"`` (no);
- ``select``: the canonical spelling of one of ``field.options``;
- ``multiselect``: one row per chosen option (``parse`` returns a sorted list);
- ``date``: ISO ``YYYY-MM-DD`` (so text order is date order);
- ``file``: the id of a :class:`core.models.StoredFile`, as text.

``parse`` returns ``None`` for an empty value and raises
:class:`core.extension.FieldValueError` with a message naming the offending
value when it is invalid.
"""
from __future__ import annotations

import datetime as dt
import re

from markupsafe import Markup

from .extension import FieldType, FieldValueError
from .i18n import core_domain

_, _l = core_domain().pair()

TEXT_MAX_LENGTH = 5000

#: longest excerpt of an invalid value quoted back in an error message
_QUOTE_MAX = 60


# --- helpers ----------------------------------------------------------------


def _quote(value) -> str:
    """``"value"`` for an error message, shortened when very long."""
    text = str(value)
    if len(text) > _QUOTE_MAX:
        text = text[: _QUOTE_MAX - 1] + "…"
    return f'"{text}"'


def _blank(value) -> bool:
    return value is None or str(value).strip() == ""


def _single_text(value) -> str | None:
    """The one stripped text in ``value`` (a text or a form list), or None.

    A list with several non-blank entries is refused: the field holds one value.
    """
    if isinstance(value, (list, tuple)):
        items = [item for item in value if not _blank(item)]
        if not items:
            return None
        if len(items) > 1:
            shown = ", ".join(_quote(item) for item in items)
            raise FieldValueError(_("This field takes a single value, got %(count)d: %(values)s.", count=len(items),
                                     values=shown))
        value = items[0]
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _options(field) -> list[str]:
    """The configured choices of a select field (``field.options``)."""
    options = getattr(field, "options", None) or []
    return [str(option) for option in options]


def _match_option(text: str, options: list[str]) -> str | None:
    """The canonical option equal to ``text`` ignoring case and spaces, or None."""
    wanted = text.strip().casefold()
    for option in options:
        if option.strip().casefold() == wanted:
            return option
    return None


def _choices_list(options: list[str]) -> str:
    return ", ".join(options) if options else "(no choices are configured for this field)"


# --- text -------------------------------------------------------------------


class TextFieldType(FieldType):
    """Free text, stripped, at most 5000 characters."""

    id = "text"
    label = _l("Text")
    operators = (
        "equals",
        "not_equals",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "empty",
        "not_empty",
        "in",
    )

    def parse(self, text, field=None):
        """The stripped text, or None when blank; refuses over-long text."""
        value = _single_text(text)
        if value is not None and len(value) > TEXT_MAX_LENGTH:
            raise FieldValueError(
                _("The text is %(length)d characters long; the maximum is %(maximum)d (it starts with %(start)s).",
                  length=len(value), maximum=TEXT_MAX_LENGTH, start=_quote(value))
            )
        return value

    def render_widget(self, name, value, field=None) -> Markup:
        """A text input holding the current value."""
        shown = "" if value is None else value
        return Markup('<input type="text" name="{}" value="{}" maxlength="{}">').format(
            name, shown, TEXT_MAX_LENGTH
        )


# --- yes / no ---------------------------------------------------------------

YES_WORDS = frozenset({"yes", "y", "oui", "o", "true", "vrai", "1", "x", "on"})
NO_WORDS = frozenset({"no", "n", "non", "false", "faux", "0", "off"})


class BooleanFieldType(FieldType):
    """Yes/no, stored as ``"1"``/``"0"``.

    The widget is a checkbox followed by a hidden ``0`` input of the same name,
    so an unchecked box still submits "no". A checked box submits ``1`` then
    ``0``: ``request.form.get`` returns the first (``1``), and ``parse`` of the
    whole ``getlist`` answers yes when any entry is yes.
    """

    id = "boolean"
    label = _l("Yes/No")
    operators = ("equals", "empty", "not_empty")

    def parse(self, text, field=None):
        """``"1"`` for yes/oui/true/1/y/o/vrai/x/on, ``"0"`` for
        no/non/false/0/n/faux, None when blank (case and spaces ignored)."""
        if isinstance(text, (list, tuple)):
            answers = [self.parse(item, field) for item in text if not _blank(item)]
            if not answers:
                return None
            return "1" if "1" in answers else "0"
        if isinstance(text, bool):
            return "1" if text else "0"
        value = _single_text(text)
        if value is None:
            return None
        word = value.casefold()
        if word in YES_WORDS:
            return "1"
        if word in NO_WORDS:
            return "0"
        raise FieldValueError(
            _("%(value)s is not a yes/no answer; use yes or no (oui/non, true/false, 1/0, y/n, o/n, vrai/faux, "
              "or x for checked).", value=_quote(value))
        )

    def display(self, value, field=None) -> str:
        """``Yes``, ``No`` or an empty text."""
        if value is None or value == "":
            return ""
        return _("Yes") if str(value) == "1" else _("No")

    def render_widget(self, name, value, field=None) -> Markup:
        """A checkbox (value ``1``) and a hidden ``0`` so unchecked submits no."""
        checked = Markup(" checked") if value is not None and str(value) == "1" else ""
        return Markup(
            '<input type="checkbox" name="{0}" value="1"{1}>'
            '<input type="hidden" name="{0}" value="0">'
        ).format(name, checked)


# --- single select ----------------------------------------------------------


class SelectFieldType(FieldType):
    """One of the field's configured ``options`` (a drop-down list)."""

    id = "select"
    label = _l("Single select")
    operators = ("equals", "not_equals", "in", "not_in", "empty", "not_empty")

    def parse(self, text, field=None):
        """The canonical option matching ``text`` (case-insensitive), or None."""
        value = _single_text(text)
        if value is None:
            return None
        options = _options(field)
        option = _match_option(value, options)
        if option is None:
            raise FieldValueError(_("%(value)s is not one of the choices: %(choices)s", value=_quote(value),
                                    choices=_choices_list(options)))
        return option

    def render_widget(self, name, value, field=None) -> Markup:
        """A ``<select>`` with an empty first option; a stored value that is no
        longer an option is kept (shown selected) so saving does not lose it."""
        options = _options(field)
        current = None if value is None else str(value)
        if current and current not in options:
            options = [current] + options
        parts = [Markup('<select name="{}">').format(name), Markup('<option value=""></option>')]
        for option in options:
            selected = Markup(" selected") if option == current else ""
            parts.append(Markup('<option value="{0}"{1}>{0}</option>').format(option, selected))
        parts.append(Markup("</select>"))
        return Markup("").join(parts)


# --- multiple select --------------------------------------------------------

_SEPARATORS = re.compile(r"[,;|]")


class MultiSelectFieldType(FieldType):
    """Any number of the field's ``options``; one stored row per option."""

    id = "multiselect"
    label = _l("Multiple select")
    multi_valued = True
    operators = ("contains", "not_contains", "contains_all", "empty", "not_empty")

    def parse(self, text, field=None):
        """A sorted, de-duplicated list of canonical options, or None.

        Accepts a form list (``request.form.getlist``) or a text whose items are
        separated by ``,`` ``;`` or ``|`` (CSV import).
        """
        options = _options(field)
        items = self._items(text, options)
        if not items:
            return None
        chosen, unknown = set(), []
        for item in items:
            option = _match_option(item, options)
            if option is None:
                unknown.append(item)
            else:
                chosen.add(option)
        if len(unknown) == 1:
            raise FieldValueError(_("%(value)s is not one of the choices: %(choices)s", value=_quote(unknown[0]),
                                    choices=_choices_list(options)))
        if unknown:
            shown = ", ".join(_quote(item) for item in unknown)
            raise FieldValueError(_("%(values)s are not among the choices: %(choices)s", values=shown,
                                    choices=_choices_list(options)))
        return sorted(chosen)

    @staticmethod
    def _items(text, options: list[str]) -> list[str]:
        """Split the input into stripped, non-blank items. A piece that is
        itself an option is kept whole, even if it contains a separator."""
        if text is None:
            return []
        pieces = list(text) if isinstance(text, (list, tuple, set)) else [text]
        items = []
        for piece in pieces:
            if _blank(piece):
                continue
            piece = str(piece).strip()
            if _match_option(piece, options) is not None:
                items.append(piece)
            else:
                items.extend(part.strip() for part in _SEPARATORS.split(piece) if part.strip())
        return items

    def render_widget(self, name, value, field=None) -> Markup:
        """One checkbox per option, all named ``name``, after a hidden empty
        input so the field is present in the form even with nothing checked."""
        current = [str(item) for item in (value or [])] if not isinstance(value, str) else [value]
        options = _options(field)
        options = options + [item for item in current if item not in options]
        parts = [Markup('<input type="hidden" name="{}" value="">').format(name)]
        for option in options:
            checked = Markup(" checked") if option in current else ""
            parts.append(
                Markup('<label><input type="checkbox" name="{0}" value="{1}"{2}> {1}</label>').format(
                    name, option, checked
                )
            )
        return Markup('<span class="choices">{}</span>').format(Markup("").join(parts))


# --- date -------------------------------------------------------------------

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}\S*)?$")
_DAY_FIRST_DATE = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})$")
DATE_FORMATS_HELP = _l("2024-03-31 (year-month-day), 31/03/2024, 31-03-2024 or 31.03.2024 (day first)")


class DateFieldType(FieldType):
    """A calendar date (no time), stored as ISO ``YYYY-MM-DD``."""

    id = "date"
    label = _l("Date")
    operators = (
        "equals",
        "before",
        "after",
        "within_last_days",
        "within_next_days",
        "anniversary_in_days",
        "empty",
        "not_empty",
    )

    def parse(self, text, field=None):
        """ISO ``YYYY-MM-DD`` from ISO, day-first (``31/03/2024``, ``31-03-2024``,
        ``31.03.2024``) or ISO datetime text, or a ``date``; None when blank."""
        if isinstance(text, dt.datetime):
            return text.date().isoformat()
        if isinstance(text, dt.date):
            return text.isoformat()
        value = (text.strip() or None) if text.__class__ is str else _single_text(text)
        if value is None:
            return None
        if len(value) == 10 and value[2] in "/.-" and value[5] == value[2] and value.isascii():
            # the usual French cell, 31/03/2024: read without the regexes (an import
            # parses one per row; most dates of a file are distinct)
            day, month, year = value[:2], value[3:5], value[6:]
            if day.isdigit() and month.isdigit() and year.isdigit():
                return self._calendar_date(value, year, month, day)
        iso = _ISO_DATE.match(value)
        day_first = None if iso else _DAY_FIRST_DATE.match(value)
        if iso:
            year, month, day = iso.group(1, 2, 3)
        elif day_first:
            day, _sep, month, year = day_first.group(1, 2, 3, 4)
        else:
            raise FieldValueError(_("%(value)s is not a date; use %(formats)s.", value=_quote(value),
                                    formats=DATE_FORMATS_HELP))
        return self._calendar_date(value, year, month, day)

    @staticmethod
    def _calendar_date(value: str, year: str, month: str, day: str) -> str:
        """ISO text of the date the digits name; FieldValueError when there is none."""
        try:
            return dt.date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            raise FieldValueError(
                _("%(value)s is not a valid calendar date (day %(day)d, month %(month)d, year %(year)d).",
                  value=_quote(value), day=int(day), month=int(month), year=int(year))
            ) from None

    def render_widget(self, name, value, field=None) -> Markup:
        """An ``<input type="date">`` holding the ISO value."""
        shown = "" if value is None else value
        return Markup('<input type="date" name="{}" value="{}">').format(name, shown)


# --- file -------------------------------------------------------------------


class FileFieldType(FieldType):
    """An uploaded document; the value is a :class:`core.models.StoredFile` id.

    Uploads are validated and stored by :func:`core.files.store_upload`; this
    type only checks the id it is given.
    """

    id = "file"
    label = _l("File")
    is_file = True
    operators = ("empty", "not_empty")

    def parse(self, text, field=None):
        """The StoredFile id as text (from an int, numeric text or a
        StoredFile), or None when blank."""
        if hasattr(text, "id") and not isinstance(text, (str, int, list, tuple)):
            text = text.id
        if isinstance(text, bool):
            raise FieldValueError(_("%(value)s is not a stored file id.", value=_quote(text)))
        if isinstance(text, int):
            value = str(text)
        else:
            value = _single_text(text)
            if value is None:
                return None
        if not value.isascii() or not value.isdigit() or int(value) <= 0:
            raise FieldValueError(_("%(value)s is not a stored file id.", value=_quote(value)))
        return str(int(value))

    def _stored_file(self, value):
        """The StoredFile row for ``value``, or None when unknown or no
        database is available."""
        from .models import StoredFile

        try:
            return StoredFile.get_or_none(StoredFile.id == int(value))
        except Exception:  # no database bound/open, or a non-numeric value
            return None

    def display(self, value, field=None) -> str:
        """The file's original name when it can be found, else ``File #id``."""
        if value is None or value == "":
            return ""
        stored = self._stored_file(value)
        if stored is not None:
            return stored.original_name
        return f"File #{value}"

    def render_widget(self, name, value, field=None) -> Markup:
        """A file input, plus the current file (a download link when the
        ``files`` blueprint is reachable)."""
        widget = Markup('<input type="file" name="{}">').format(name)
        if value is None or value == "":
            return widget
        label = self.display(value, field)
        url = self._download_url(value)
        if url:
            note = Markup('<a href="{}">{}</a>').format(url, label)
        else:
            note = Markup("{}").format(label)
        return widget + Markup(' <span class="current-file">Current file: {}</span>').format(note)

    @staticmethod
    def _download_url(value) -> str | None:
        try:
            from flask import url_for

            return url_for("files.download", file_id=int(value))
        except Exception:  # outside a request, blueprint absent, non-numeric value
            return None


CORE_FIELD_TYPES = [
    TextFieldType(),
    BooleanFieldType(),
    SelectFieldType(),
    MultiSelectFieldType(),
    DateFieldType(),
    FileFieldType(),
]
