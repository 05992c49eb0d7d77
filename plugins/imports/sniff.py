"""Guess how a CSV file is written: its encoding, its separator and whether
its first line holds column names.

Encoding: a UTF-8 byte order mark means ``utf-8-sig`` and a UTF-16 one
``utf-16`` (Excel's "Unicode text"); otherwise the *whole* file is checked as
UTF-8 (a sample is not enough: one accented name on line 80 000 would break the
import half way), then Windows-1252 (what Excel writes in Western Europe), and
ISO-8859-1 as the last resort, which decodes any byte. A file with NUL bytes or
many control characters is refused as not being text.

Separator: :class:`csv.Sniffer` is easily fooled (a ``;`` file whose amounts
use decimal commas, a single column of emails...), so each candidate among
``;`` ``,`` tab and ``|`` is scored by parsing a sample with :mod:`csv` (which
honours quotes and quoted newlines): the one splitting the most records into
the same number of columns wins, and the Sniffer's choice only breaks ties.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from core import translation_domain

_, _l = translation_domain(__name__).pair()

DELIMITERS = (";", ",", "\t", "|")
#: encodings offered in the wizard, with their labels
ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": _l("UTF-8 with BOM"),
    "utf-16": _l("UTF-16 (Excel Unicode text)"),
    "cp1252": _l("Windows-1252 (Western Europe)"),
    "iso-8859-1": "ISO-8859-1 (Latin-1)",
    "iso-8859-15": "ISO-8859-15 (Latin-9)",
}
DELIMITER_LABELS = {";": _l("Semicolon ;"), ",": _l("Comma ,"), "\t": _l("Tab"), "|": _l("Vertical bar |")}

SAMPLE_CHARS = 64 * 1024
SAMPLE_RECORDS = 50
_CHUNK = 1024 * 1024
_TEXT_CONTROLS = {9, 10, 12, 13}


class NotTextError(ValueError):
    """The file is not a text (CSV) file; the message says what it looks like."""


@dataclass
class Dialect:
    encoding: str
    delimiter: str
    has_header: bool


def _binary_hint(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return " " + _("It looks like an Excel workbook (.xlsx) or another zip archive: save it as CSV first.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return " " + _("It looks like an old Excel workbook (.xls): save it as CSV first.")
    if head.startswith(b"%PDF"):
        return " " + _("It is a PDF document.")
    return ""


def decodes_as(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes with ``encoding`` (read in chunks)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """The encoding of a text file, or :class:`NotTextError`."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_CHARS)
    if not head.strip():
        raise NotTextError(_("The file is empty."))
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        _check_looks_like_text(path, head)
        encoding = next((e for e in ("utf-8", "cp1252") if decodes_as(path, e)), "iso-8859-1")
    if not decodes_as(path, encoding):
        raise NotTextError(_("The file starts like %(encoding)s text but does not decode as such.",
                               encoding=ENCODINGS[encoding]))
    return encoding


def _check_looks_like_text(path: Path, head: bytes) -> None:
    hint = _binary_hint(head)
    controls = sum(1 for byte in head if byte < 32 and byte not in _TEXT_CONTROLS)
    if hint or b"\x00" in head or controls > max(len(head) // 100, 2):
        raise NotTextError(_("The file is not a text (CSV) file.") + hint)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            if b"\x00" in chunk:
                raise NotTextError(_("The file contains binary data (NUL bytes): it is not a CSV file."))


def read_sample(path: Path, encoding: str, chars: int = SAMPLE_CHARS) -> tuple[str, bool]:
    """The first ``chars`` characters of the file, and whether the file goes on."""
    with open(path, encoding=encoding, newline="") as handle:
        text = handle.read(chars)
        more = bool(handle.read(1))
    return text, more


def _records(sample: str, delimiter: str, truncated: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter, quotechar='"')
    records = []
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                records.append(record)
            if len(records) > SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    if truncated and records and len(records) <= SAMPLE_RECORDS:
        records.pop()  # the last record may be cut in the middle
    return records[:SAMPLE_RECORDS]


def _score(records: list[list[str]]) -> tuple[float, int]:
    """(share of records with the most common column count, that count);
    a delimiter that never splits a line scores zero."""
    if not records:
        return (0.0, 0)
    width, hits = Counter(len(r) for r in records).most_common(1)[0]
    if width < 2:
        return (0.0, width)
    return (round(hits / len(records), 2), width)


def detect_delimiter(sample: str, truncated: bool = False) -> str:
    """The most plausible separator of a CSV sample (``,`` for one column)."""
    scores = {d: _score(_records(sample, d, truncated)) for d in DELIMITERS}
    best = max(scores.values())
    if best[0] == 0:
        return ","
    try:
        sniffed = csv.Sniffer().sniff(sample[:SAMPLE_CHARS], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in scores and scores[sniffed][0] == best[0]:
        return sniffed
    return max(DELIMITERS, key=lambda d: (scores[d], -DELIMITERS.index(d)))


def guess_header(records: list[list[str]]) -> bool:
    """Whether the first record holds column names: it has no email address
    while the records below do, or (no emails at all) it has no number."""
    if len(records) < 2:
        return True
    first, rest = records[0], records[1:]
    if any("@" in cell for cell in first):
        return False
    if any("@" in cell for record in rest for cell in record):
        return True
    return not any(cell.strip().replace(".", "").replace(",", "").isdigit() for cell in first)


def detect_dialect(path: Path, encoding: str | None = None) -> Dialect:
    """Encoding, separator and header of a CSV file (:class:`NotTextError`
    when it is not text)."""
    encoding = encoding or detect_encoding(path)
    sample, more = read_sample(path, encoding)
    if more and "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]
    delimiter = detect_delimiter(sample, truncated=more)
    return Dialect(encoding, delimiter, guess_header(_records(sample, delimiter, more)))
