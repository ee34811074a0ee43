"""The suppression (do-not-contact) list: emails and `@domain` entries shared by every thread.

One table in the run database (all of its SQL is in this module; its DDL is in
graphs/storage/schema.py), on SQLite or Postgres, one row per entry with who
added it, when, why and from where (`manual`, `import`, a vendor's unsubscribe or bounce
export). The gates (graphs/approval/gates.py) and the execute node read it through
`Suppressions`, so an entry added after a review was made still stops the send.

Imports are all or nothing: a file with malformed lines imports nothing and every bad line is
reported with its number, unless the caller asks to skip them.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping

from graphs.core import clock
from graphs.storage import schema, sqldb
from graphs.storage.location import exists

SCHEMA = schema.SUPPRESSION  # the DDL lives in graphs/storage/schema.py (versioned)
LOCK = "suppression"

_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_DOMAIN = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


class SuppressionError(ValueError):
    """An entry or a file that cannot be used, said for an operator."""


@dataclass(frozen=True)
class Entry:
    entry: str
    kind: str
    reason: str
    source: str
    added_by: str
    added_at: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BadLine:
    line: int
    text: str
    problem: str


class ImportRefused(SuppressionError):
    def __init__(self, bad: list[BadLine]) -> None:
        self.bad = bad
        super().__init__(f"{len(bad)} malformed lines; nothing imported")


def normalize(text: str) -> tuple[str, str]:
    """(entry, kind) for an email or '@domain'; raises SuppressionError for anything else."""
    value = str(text or "").strip().lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:"):]
    if _DOMAIN.match(value):
        return value, "domain"
    if _EMAIL.match(value):
        return value, "email"
    raise SuppressionError(f"{text!r} is neither an email address nor an @domain")


def _connect(db_path: str | Path) -> sqldb.Database:
    db = sqldb.connect(db_path)
    try:
        return schema.ensure(db)
    except BaseException:
        db.close()
        raise


_UPSERT = ("INSERT INTO suppression (entry, kind, reason, source, added_by, added_at) "
           "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entry) DO UPDATE SET reason=excluded.reason, "
           "source=excluded.source, added_by=excluded.added_by, added_at=excluded.added_at")


def _upsert(db_path: str | Path, rows: list[tuple]) -> None:
    with _connect(db_path) as db, db.transaction(lock=LOCK):
        if rows:
            db.executemany(_UPSERT, rows)


def add(db_path: str | Path, entries: Iterable[str], *, by: str, reason: str = "",
        source: str = "manual") -> list[Entry]:
    """Add (or update the reason of) entries in one transaction; returns them as stored."""
    normalized = [normalize(entry) for entry in entries]
    now = clock.now_iso()
    _upsert(db_path, [(entry, kind, reason, source, by, now) for entry, kind in normalized])
    return [Entry(entry, kind, reason, source, by, now) for entry, kind in normalized]


def remove(db_path: str | Path, entries: Iterable[str]) -> list[str]:
    """Remove entries; returns the ones that were there."""
    normalized = [normalize(entry)[0] for entry in entries]
    with _connect(db_path) as db, db.transaction(lock=LOCK):
        return [entry for entry in normalized
                if db.execute("DELETE FROM suppression WHERE entry = ?", (entry,)).rowcount]


def list_entries(db_path: str | Path) -> list[Entry]:
    """Every entry, read without writing anything (no DDL: a locked file stays readable)."""
    if not exists(db_path):
        return []
    with sqldb.connect(db_path, readonly=True) as db:
        if not schema.check(db, ("suppression",)):
            return []
        return [Entry(*row) for row in db.all(
            "SELECT entry, kind, reason, source, added_by, added_at FROM suppression "
            "ORDER BY kind, entry")]


def _csv_rows(text: str, bad: list[BadLine]) -> Iterable[tuple[int, list[str]]]:
    """(line number, fields) per CSV record; a record the csv module cannot read (a field over
    its size limit, ...) ends the file as a bad line instead of a traceback."""
    reader = csv.reader(io.StringIO(text))
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            bad.append(BadLine(reader.line_num, "", f"unreadable CSV ({exc}); the rest of the "
                                                    "file was not read"))
            return
        number += 1
        yield number, row


def parse_import(text: str) -> tuple[list[tuple[str, str]], list[BadLine]]:
    """Lines `email-or-@domain[,reason]` (CSV; blank lines and `#` comments skipped).

    Returns ((entry, reason) in file order, bad lines). A header line `email,...` is allowed."""
    good: list[tuple[str, str]] = []
    bad: list[BadLine] = []
    for number, row in _csv_rows(text, bad):
        raw = ",".join(row)
        if not row or not raw.strip() or raw.lstrip().startswith("#"):
            continue
        first = row[0].strip()
        if number == 1 and first.lower() in ("email", "entry", "address"):
            continue
        try:
            entry, _ = normalize(first)
        except SuppressionError as exc:
            bad.append(BadLine(number, raw[:200], str(exc)))
            continue
        good.append((entry, ",".join(row[1:]).strip()[:500]))
    return good, bad


def import_text(db_path: str | Path, text: str, *, by: str, source: str = "import",
                skip_bad: bool = False) -> tuple[int, list[BadLine]]:
    """Import a file's entries in one transaction: (imported, bad lines). With bad lines and
    not `skip_bad`, raises ImportRefused and imports nothing."""
    good, bad = parse_import(text)
    if bad and not skip_bad:
        raise ImportRefused(bad)
    now = clock.now_iso()
    _upsert(db_path, [(entry, "domain" if entry.startswith("@") else "email", reason, source, by,
                       now) for entry, reason in good])
    return len(good), bad


def export_text(db_path: str | Path, *, as_json: bool = False) -> str:
    entries = list_entries(db_path)
    # Cleaned and formula-safe (graphs/core/exports.py): a reason came from an import file.
    from graphs.core.exports import csv_text, json_text

    if as_json:
        return json_text([e.as_dict() for e in entries], indent=2) + "\n"
    return csv_text(("email", "reason", "source", "added_by", "added_at"),
                    [(e.entry, e.reason, e.source, e.added_by, e.added_at) for e in entries])


class Suppressions:
    """A snapshot of the list for matching: `match(email)` -> the entry that forbids it, or None."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self.entries: dict[str, Entry] = {e.entry: e for e in entries}

    @classmethod
    def load(cls, db_path: str | Path) -> "Suppressions":
        return cls(list_entries(db_path))

    @classmethod
    def of(cls, values: Mapping[str, str] | Iterable[str]) -> "Suppressions":
        """For tests and callers holding plain entries (reasons optional)."""
        reasons = values if isinstance(values, Mapping) else {value: "" for value in values}
        return cls(Entry(normalize(k)[0], normalize(k)[1], v, "manual", "-", "") for k, v in reasons.items())

    def match(self, email: str | None) -> Entry | None:
        address = str(email or "").strip().lower()
        if not address:
            return None
        hit = self.entries.get(address)
        if hit is None and "@" in address:
            hit = self.entries.get("@" + address.rsplit("@", 1)[1])
        return hit

    def __len__(self) -> int:
        return len(self.entries)
