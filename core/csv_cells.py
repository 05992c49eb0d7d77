"""CSV cells safe to open in a spreadsheet (CSV injection).

A cell starting with ``=`` ``+`` ``-`` ``@``, a tab or a carriage return is
taken by Excel or LibreOffice for a formula; :func:`csv_cell` prefixes it with
``'`` so opening an exported file never runs anything::

    from core import csv_cell
    writer.writerow([csv_cell(value) for value in row])
"""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """``value`` as text, prefixed with ``'`` when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
