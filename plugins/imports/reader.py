"""Read the data rows of a CSV file with the physical line number where each
row starts (a quoted cell may span several lines), so error reports point at
the line a user sees in a text editor."""
from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from core import translation_domain

_ = translation_domain(__name__).gettext

# a long text cell (notes pasted from a CRM) must not stop the import
csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, 64 * 1024 * 1024)))


class SourceError(ValueError):
    """The file cannot be read with the chosen encoding/separator."""


@dataclass(slots=True)
class Row:
    line: int
    cells: list[str]


class CsvSource:
    """A CSV file read with a known encoding, separator and header flag."""

    def __init__(self, path: Path, encoding: str, delimiter: str, has_header: bool = True):
        self.path = Path(path)
        self.encoding = encoding
        self.delimiter = delimiter
        self.has_header = has_header
        self._header: list[str] | None = None

    @property
    def header(self) -> list[str]:
        """Column names: the first line's cells, or ``Column 1``... as wide as
        the widest of the first rows when the file has no header line."""
        if self._header is None:
            names: list[str] = []
            width = 0
            for index, row in enumerate(self._records()):
                if self.has_header:
                    names = [cell.replace("\ufeff", "").strip() for cell in row.cells]
                    break
                width = max(width, len(row.cells))
                if index >= 20:
                    break
            names = names + [""] * (width - len(names))
            self._header = [name or f"Column {i + 1}" for i, name in enumerate(names)]
        return self._header

    def _records(self) -> Iterator[Row]:
        try:
            with open(self.path, encoding=self.encoding, newline="") as handle:
                reader = csv.reader(handle, delimiter=self.delimiter, quotechar='"')
                start = 1
                for cells in reader:
                    # blank lines and rows of empty cells are skipped (the first cell alone
                    # usually says the row is not blank, without joining all of them)
                    if cells and (cells[0].strip() or "".join(cells).strip()):
                        yield Row(start, cells)
                    start = reader.line_num + 1
        except UnicodeDecodeError as error:
            raise SourceError(_(
                "The file is not valid %(encoding)s text (byte %(byte)s of a chunk); choose another encoding.",
                encoding=self.encoding, byte=error.start)) from None
        except csv.Error as error:
            raise SourceError(_("The file cannot be read as CSV: %(error)s", error=str(error))) from None

    def rows(self, limit: int | None = None) -> Iterator[Row]:
        """Data rows (blank lines skipped), at most ``limit`` of them."""
        records = self._records()
        if self.has_header:
            next(records, None)
        if limit is None:
            yield from records
            return
        for count, row in enumerate(records):
            if limit is not None and count >= limit:
                return
            yield row

    def preview(self, count: int = 10) -> list[Row]:
        return list(self.rows(limit=count))

    def count(self, limit: int | None = None) -> int:
        """Number of data rows (reads the whole file)."""
        total = 0
        for _ in self.rows(limit=limit):
            total += 1
        return total

    def column_values(self, index: int, limit: int = 200) -> list[str] | None:
        """Distinct non-blank values of a column in file order, or None when
        there are more than ``limit``."""
        seen: dict[str, None] = {}
        for row in self.rows():
            if index < len(row.cells):
                value = row.cells[index].strip()
                if value and value not in seen:
                    seen[value] = None
                    if len(seen) > limit:
                        return None
        return list(seen)
