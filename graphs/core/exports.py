"""What cmo writes for other programs (CSV and JSON exports) is inert on a terminal and in a
spreadsheet.

- Control characters: every text cell goes through `graphs.core.text.clean_text` (ESC/CSI/OSC
  sequences such as OSC 52 clipboard writes, C0/C1 controls and DEL removed; CR becomes LF).
  Single-line cells (everything but an email body) have LF and tabs folded into one space, so a
  cell cannot start a fake row; `multiline` cells keep LF inside their quotes.
- Formulas: a text cell starting with `=`, `+`, `-`, `@`, a tab or a CR is prefixed with `'`
  (OWASP's advice against CSV formula injection: spreadsheets run such cells). Numbers stay numbers.
- JSON: `json_text` keeps non-ASCII text readable (ensure_ascii=False) but writes DEL, C1 controls
  (an 8-bit CSI is one character: U+009B) and U+2028/U+2029 as \\u escapes; `json.dumps` already
  escapes C0. The values are unchanged: a JSON reader gets back exactly what was stored.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Iterable, Sequence

from graphs.core.text import clean_text, one_line

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029]")


def csv_cell(value: Any, *, multiline: bool = False) -> Any:
    """One cell: numbers as they are; text cleaned, then neutralised if it would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = clean_text(str(value)) if multiline else one_line(str(value))
        return "'" + text if text.startswith(FORMULA_STARTS) else text
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]],
             multiline: Iterable[str] = ()) -> str:
    """A whole CSV file; columns named in `multiline` keep their line breaks (quoted)."""
    keep = set(multiline)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        writer.writerow([csv_cell(value, multiline=name in keep) for name, value in zip(header, row)])
    return buffer.getvalue()


def _escape(match: re.Match) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def json_text(value: Any, **dumps: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, ...)` with no raw DEL/C1/line-separator characters."""
    dumps.setdefault("ensure_ascii", False)
    # Outside strings JSON has only ASCII punctuation, so these characters occur only inside
    # strings, where a \\u escape is the same value.
    return _RAW_IN_JSON.sub(_escape, json.dumps(value, **dumps))
