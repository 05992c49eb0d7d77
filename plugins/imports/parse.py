"""Turn one CSV row into a validated :class:`Record`, the way
:func:`core.contacts.parse_values` validates a form: emails through
:func:`core.contacts.normalize_email`, custom values through their field
type's ``parse``. Each distinct cell text is parsed once per column (a zone
column holds four values over 100 000 rows), which keeps the import fast.

Empty cells never erase anything: they are simply absent from the record.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core import DateFieldType, FieldValueError, normalize_email, normalize_tag, valid_language
from .attachments import FileColumn
from .reader import Row
from .reasons import N_, Reason

_TAG_SEPARATORS = frozenset(",;|")
_MEMO_LIMIT = 50_000
_NO_WARNINGS: tuple[Reason, ...] = ()
#: what a multi-valued field type returns for no value
_NO_ITEMS: list = []
#: same limit as core.contacts.parse_values
NAME_MAX = 200


def split_tags(text: str) -> list[str]:
    """The tags of one cell, read like a line of CSV whose separators are
    ``,`` ``;`` and ``|``: ``vip, salon`` and Mailchimp's ``"crm","ebook"``
    both give two tags, a quoted item is taken as written (``"Salon, Paris"``
    is one tag, ``""`` inside quotes is a quote) and the quotes never end up
    in a tag. A quote that is not at the start of an item is an ordinary
    character; one left open runs to the end of the cell."""
    items: list[str] = []
    current: list[str] = []
    quoted = was_quoted = False
    position, length = 0, len(text or "")
    while position < length:
        char = text[position]
        if quoted:
            if char == '"' and text[position + 1:position + 2] == '"':
                current.append('"')
                position += 1
            elif char == '"':
                quoted = False
            else:
                current.append(char)
        elif char in _TAG_SEPARATORS:
            items.append("".join(current))
            current, was_quoted = [], False
        elif char == '"' and not was_quoted and not "".join(current).strip():
            current, quoted, was_quoted = [], True, True
        else:
            current.append(char)
        position += 1
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


class RowProblem(Exception):
    """The row cannot be imported; ``error.reason`` is the :class:`.reasons.Reason`
    shown to the user (``str(error)`` its English text)."""

    def __init__(self, reason: Reason):
        super().__init__(reason.english())
        self.reason = reason


@dataclass(slots=True)
class Record:
    line: int
    cells: list[str]
    email: str
    natives: dict = field(default_factory=dict)
    #: custom field id -> stored text, or a sorted list for multi-valued fields
    values: dict = field(default_factory=dict)
    owner_id: int | None = None
    #: normalised tag names (a frozenset: replaced, never changed in place)
    tags: frozenset = frozenset()
    last_activity: str | None = None

    def merge(self, later: "Record", override: bool) -> None:
        """Fold a later row with the same email into this one: its values win
        when ``override``, otherwise they only fill what is still empty."""
        for mine, theirs in ((self.natives, later.natives), (self.values, later.values)):
            for key, value in theirs.items():
                if override or key not in mine:
                    mine[key] = value
        if later.owner_id is not None and (override or self.owner_id is None):
            self.owner_id = later.owner_id
        if later.tags:
            self.tags = self.tags | later.tags


class _Column:
    __slots__ = ("index", "header", "target", "field", "field_type", "memo")

    def __init__(self, index, header, target, field=None, field_type=None):
        self.index, self.header, self.target = index, header, target
        self.field, self.field_type, self.memo = field, field_type, {}

    def parse_value(self, text: str):
        """The field type's parse, memoised per distinct text: ``(value, None)``
        or ``(None, reason)``."""
        outcome = self.memo.get(text)
        if outcome is None:
            outcome = self._parse_new(text)
        return outcome

    def _parse_new(self, text: str):
        """Parse a text not in the memo yet and remember the outcome."""
        try:
            outcome = (self.field_type.parse(text, self.field), None)
        except FieldValueError as error:
            # our own refusals (a file column's) carry their translatable reason;
            # a field type's text comes from core and is shown as written
            outcome = (None, getattr(error, "reason", None) or str(error))
        if len(self.memo) >= _MEMO_LIMIT:
            self.memo.clear()
        self.memo[text] = outcome
        return outcome


class RowParser:
    """Validates rows against a mapping (one target per column)."""

    def __init__(self, mapping: list[dict], fields_by_key: dict, types, users_by_email: dict[str, int],
                 cold_column: int | None = None, files=None):
        """``files``: the :class:`.attachments.FileFolder` where
        the file names of file-field columns are found (None: such a column
        is refused row by row, with how to give the folder)."""
        self.width = len(mapping)
        self.users_by_email = users_by_email
        self.email_column = None
        self.natives, self.customs, self.tag_columns = [], [], []
        self.owner_column = None
        for index, column in enumerate(mapping):
            target, header = column["target"], column.get("header", f"Column {index + 1}")
            if target == "email":
                self.email_column = _Column(index, header, target)
            elif target in ("first_name", "last_name", "language"):
                self.natives.append(_Column(index, header, target))
            elif target == "owner":
                self.owner_column = _Column(index, header, target)
            elif target == "tags":
                self.tag_columns.append(_Column(index, header, target))
            elif target.startswith("field:"):
                custom = fields_by_key[target[6:]]
                field_type = types[custom.type_id]
                if field_type.is_file:
                    field_type = FileColumn(files)
                self.customs.append(_Column(index, header, target, custom, field_type))
        if self.email_column is None:
            raise ValueError("the mapping has no email column")
        # plain tuples for the per-row loop (attribute lookups add up over 100 000 rows)
        self._native_cells = [(column.index, column.target, column.header) for column in self.natives]
        self._custom_cells = [(column.index, column.field.id, column.memo, column._parse_new, column.header)
                              for column in self.customs]
        self.cold_column = None
        if cold_column is not None:
            header = mapping[cold_column].get("header", "") if cold_column < len(mapping) else ""
            self.cold_column = _Column(cold_column, header, "cold", None, DateFieldType())
        self._email_index = self.email_column.index
        #: whether rows have anything besides the email, names and custom values to read
        self._extras = bool(self.owner_column is not None or self.tag_columns or self.cold_column is not None)

    def parse(self, row: Row) -> tuple[Record, list[Reason] | tuple[()]]:
        """The row's record and its warnings; :class:`RowProblem` when it
        cannot be imported (all its problems in one reason)."""
        cells = row.cells
        width, count = self.width, len(cells)
        if count > width and any(cell.strip() for cell in cells[width:]):
            raise RowProblem(Reason.of(
                N_("This line has %(count)s values but the file has %(width)s columns "
                   "(a separator inside an unquoted value?)."), count=count, width=width))
        if count < width:
            cells = cells + [""] * (width - count)
        problems = None
        try:
            email = normalize_email(cells[self._email_index])
        except FieldValueError as error:
            problems = [Reason.of(N_("%(column)s: %(error)s"), column=self.email_column.header, error=str(error))]
            email = ""
        else:
            if email is None:
                problems = [Reason.of(N_("%(column)s: no email address"), column=self.email_column.header)]
                email = ""
        natives, values = {}, {}
        for index, target, header in self._native_cells:
            text = cells[index].strip()
            if not text:
                continue
            if target != "language":
                natives[target] = text[:NAME_MAX]
                continue
            code = valid_language(text)
            if code:
                natives[target] = code
            else:
                problems = (problems or []) + [Reason.of(
                    N_("%(column)s: unknown language %(value)s (use fr or en)"), column=header,
                    value=repr(text[:20]))]
        for index, field_id, memo, parse_new, header in self._custom_cells:
            text = cells[index]
            if text:
                value, error = memo.get(text) or parse_new(text)
                if error:
                    problems = (problems or []) + [Reason.of(N_("%(column)s: %(error)s"), column=header, error=error)]
                elif value is not None and value != _NO_ITEMS:
                    values[field_id] = value
        if problems:
            raise RowProblem(Reason.joined(problems))
        record = Record(row.line, row.cells, email, natives, values)
        if not self._extras:
            return record, _NO_WARNINGS
        warnings = []
        if self.owner_column is not None:
            warning = self._owner(record, cells[self.owner_column.index])
            if warning:
                warnings.append(warning)
        if self.tag_columns:
            record.tags = frozenset(normalize_tag(name) for column in self.tag_columns
                                    for name in split_tags(cells[column.index]))
        if self.cold_column is not None:
            text = cells[self.cold_column.index] if self.cold_column.index < len(cells) else ""
            if text.strip():
                value, error = self.cold_column.parse_value(text)
                if error:
                    warnings.append(Reason.of(N_("%(column)s: last activity not checked: %(error)s"),
                                              column=self.cold_column.header, error=error))
                record.last_activity = value
        return record, warnings

    def _owner(self, record: Record, text: str) -> Reason | None:
        wanted = (text or "").strip().lower()
        if not wanted:
            return None
        owner_id = self.users_by_email.get(wanted)
        if owner_id is None:
            return Reason.of(N_("%(column)s: no active user has the email %(email)s; "
                                "the contact was imported without an owner."),
                             column=self.owner_column.header, email=repr(text.strip()))
        record.owner_id = owner_id
        return None
