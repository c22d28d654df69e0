"""What every CSV export shares: rows written one at a time and taken as text for a streaming
response, and cells a spreadsheet would run as formulas defused."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

# OWASP CSV injection: a cell a spreadsheet would run as a formula is prefixed with a quote.
# A plain number (a negative margin) is no formula and stays a number.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def safe_cell(text: str) -> str:
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class CsvLines:
    """A CSV writer over an in-memory buffer: ``row`` returns the text of the row just
    written, so a generator can yield it without holding the file."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def row(self, cells: Iterable[str]) -> str:
        self._writer.writerow([safe_cell(cell) for cell in cells])
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text
