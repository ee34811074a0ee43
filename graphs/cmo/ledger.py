"""The send ledger: exactly-once execution of approved drafts, across retries, resumes and kills.

One row per (thread_id, draft_id, service), in the run database. The protocol, per service:

1. `claim_many` (one committed transaction holding the ledger's lock: `BEGIN IMMEDIATE` on
   SQLite, the `send_ledger` advisory lock on Postgres) turns each draft into
   * `already` - the row says `sent`: never call the vendor again;
   * `new`     - no row (or a `skipped` one that now fits under the daily cap): row -> `pending`;
   * `resend`  - the row is `pending`/`failed`: an earlier attempt may have reached the vendor
                 (the process died between the call and `mark`), so the caller may only repeat
                 it through the vendor's own de-duplication (Instantly skip_if_in_campaign,
                 Attio upsert by email, Linear's client-chosen issue id);
   * `capped`  - the daily cap is reached: row -> `skipped`, detail "daily cap".
2. the vendor call;
3. `mark` -> `sent` / `failed` / `skipped` (committed at once).

The daily cap counts `pending` and `sent` rows of the capped services (Instantly and the dry-run
outbox) claimed on the same UTC day, across every thread in the file, inside the same
transaction that claims, so two processes can never both take the last slot.

Nodes use `AsyncLedger`: every call runs in a worker thread. A blocking SQLite call on the event
loop would deadlock with the checkpointer (aiosqlite needs the loop to commit the write whose
lock the call waits for).
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from graphs.core import clock
from graphs.storage import schema, sqldb
from graphs.storage.location import exists

CAPPED_SERVICES = ("instantly", "outbox")
DAILY_CAP = "daily cap"
QUEUED = "queued for "  # detail of a capped row: "queued for 2026-01-16" (its due UTC day)
BLOCKED = "blocked: "   # detail of a row a gate refused at send time
# A draft id is derived from (sequence, prospect): the same email to the same person. Every
# vendor effect (email, CRM record, follow-up issue) happens once per person and sequence across
# every thread on the file, forks included: a fork keeps no copy of its source's rows, it sees
# them here. A dry run also honours what the dry runs before it wrote (as live would).
ONCE_ACROSS_THREADS = {"instantly": ("instantly",), "attio": ("attio",), "linear": ("linear",),
                       "outbox": ("outbox", "instantly")}
SENT_ELSEWHERE = "already sent by another run"


def cap_services(service: str) -> tuple[str, ...]:
    """The capped services whose claims today count against `service`'s daily cap."""
    return tuple(name for name in ONCE_ACROSS_THREADS.get(service, (service,))
                 if name in CAPPED_SERVICES)


def capped_service(mode: str) -> str:
    """The ledger service an execution mode sends through (and whose cap it uses)."""
    return "instantly" if mode == "live" else "outbox"


def due_day(today: str, position: int, cap: int) -> str:
    """The UTC day the `position`-th (0-based) draft over today's cap is due."""
    from datetime import date, timedelta

    if cap <= 0:
        return "never (per_inbox_daily is 0)"
    return (date.fromisoformat(today) + timedelta(days=1 + position // cap)).isoformat()


SCHEMA = schema.SEND_LEDGER  # the DDL lives in graphs/storage/schema.py (versioned)


def _locked(method):
    @functools.wraps(method)
    def wrapper(self: "Ledger", *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)
    return wrapper


ELSEWHERE_CHUNK = 500  # drafts per query: far below every engine's bound-parameter limit


@dataclass(frozen=True)
class Claim:
    draft_id: str
    outcome: str  # new | resend | already | capped | elsewhere

    @property
    def must_send(self) -> bool:
        return self.outcome in ("new", "resend")


ROW_COLUMNS = ("thread_id", "draft_id", "service", "status", "email", "day", "payload", "detail",
               "attempts", "created_at", "updated_at")
LOCK = "send_ledger"  # one lock for every claim: the daily cap and de-duplication span threads


class Ledger:
    """The ledger at a location (SQLite path or postgresql:// URL).

    `readonly=True` is for paths that only look (the approval screen's counts, queued drafts):
    no DDL, no migration; an absent ledger reads as empty."""

    def __init__(self, db_path: str | Path, *, readonly: bool = False) -> None:
        self.lock = threading.RLock()  # one connection, used from worker threads in turn
        self.absent = False
        if readonly and not exists(db_path):
            self.conn = None
            self.absent = True
            return
        self.conn = sqldb.connect(db_path, readonly=readonly)
        try:
            with self.lock:
                if readonly:
                    self.absent = not schema.check(self.conn, ("send_ledger",))
                else:
                    schema.ensure(self.conn)
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- claiming -------------------------------------------------------------------------------
    @_locked
    def sent_today(self, day: str | None = None, service: str = "outbox") -> int:
        """Today's claims that use `service`'s daily cap, across every thread: the same services
        whose rows count as "already sent" for it (ONCE_ACROSS_THREADS). A live send counts
        only live sends: a dry run contacts nobody, so it must not use the inbox's day and make
        the live run of the same batch queue what the dry run said would go out now. A dry run
        counts both (it predicts the live day, and honours the dry runs before it)."""
        day = day or clock.now().date().isoformat()
        if self.absent:
            return 0
        services = cap_services(service)
        marks = ",".join("?" * len(services))
        row = self.conn.one(
            f"SELECT COUNT(*) FROM send_ledger WHERE day = ? AND service IN ({marks}) "
            "AND status IN ('pending', 'sent')", (day, *services))
        return int(row[0])

    @_locked
    def claim_many(self, thread_id: str, service: str, items: Iterable[tuple[str, str, dict]],
                   daily_cap: int | None = None) -> list[Claim]:
        """Claim (draft_id, email, payload) items for `service`, in order, in one transaction."""
        now = clock.now_iso()
        day = clock.now().date().isoformat()
        capped = daily_cap is not None and service in CAPPED_SERVICES
        claims: list[Claim] = []
        with self.conn.transaction(lock=LOCK):
            used = self.sent_today(day, service) if capped else 0
            queued_count = 0
            for draft_id, email, payload in items:
                row = self.conn.one(
                    "SELECT status FROM send_ledger WHERE thread_id=? AND draft_id=? AND service=?",
                    (thread_id, draft_id, service))
                status = row[0] if row else None
                if status == "sent":
                    claims.append(Claim(draft_id, "already"))
                    continue
                other = self._elsewhere(thread_id, draft_id, service)
                if status in (None, "skipped", "failed") and other is not None:
                    self.conn.execute(
                        "INSERT INTO send_ledger (thread_id, draft_id, service, status, email, "
                        "day, detail, created_at, updated_at) VALUES (?, ?, ?, 'skipped', ?, ?, "
                        "?, ?, ?) ON CONFLICT (thread_id, draft_id, service) DO UPDATE SET "
                        "status='skipped', detail=excluded.detail, updated_at=excluded.updated_at",
                        (thread_id, draft_id, service, email, day,
                         f"{SENT_ELSEWHERE} ({other[0]} at {other[1]})", now, now))
                    claims.append(Claim(draft_id, "elsewhere"))
                    continue
                if status in ("pending", "failed"):
                    self.conn.execute(
                        "UPDATE send_ledger SET status='pending', attempts=attempts+1, updated_at=? "
                        "WHERE thread_id=? AND draft_id=? AND service=?",
                        (now, thread_id, draft_id, service))
                    claims.append(Claim(draft_id, "resend"))
                    continue
                over = capped and used >= daily_cap
                detail = ""
                if over:
                    detail = QUEUED + due_day(day, queued_count, int(daily_cap or 0))
                    queued_count += 1
                self.conn.execute(
                    "INSERT INTO send_ledger (thread_id, draft_id, service, status, email, day, "
                    "payload, detail, attempts, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (thread_id, draft_id, service) DO UPDATE SET status=excluded.status, "
                    "day=excluded.day, payload=excluded.payload, detail=excluded.detail, "
                    "attempts=send_ledger.attempts+excluded.attempts, "
                    "updated_at=excluded.updated_at",
                    (thread_id, draft_id, service, "skipped" if over else "pending", email, day,
                     json.dumps(payload, sort_keys=True, ensure_ascii=False),
                     detail, 0 if over else 1, now, now))
                if over:
                    claims.append(Claim(draft_id, "capped"))
                else:
                    used += 1 if capped else 0
                    claims.append(Claim(draft_id, "new"))
        return claims

    def _elsewhere(self, thread_id: str, draft_id: str, service: str) -> tuple[str, str] | None:
        """(thread, when) of another thread that sent (or is sending) this draft's effect."""
        services = ONCE_ACROSS_THREADS.get(service, ())
        if not services or self.absent:
            return None
        marks = ",".join("?" * len(services))
        row = self.conn.one(
            f"SELECT thread_id, updated_at FROM send_ledger WHERE draft_id=? AND service IN ({marks}) "
            "AND thread_id != ? AND status IN ('sent', 'pending') AND day NOT LIKE 'copied:%' "
            "ORDER BY updated_at, thread_id LIMIT 1", (draft_id, *services, thread_id))
        return (row[0], row[1]) if row is not None else None

    @_locked
    def sent_elsewhere(self, thread_id: str, draft_ids: Iterable[str],
                       service: str) -> dict[str, tuple[str, str]]:
        """{draft_id: (thread, when)} for the drafts another thread already sent via `service`.

        The rule of `_elsewhere`, asked for a chunk of drafts per query (the approval screen
        asks for ~3,000 at once: one indexed query each took 55 ms)."""
        services = ONCE_ACROSS_THREADS.get(service, ())
        wanted = list(dict.fromkeys(str(d) for d in draft_ids))
        if not services or self.absent or not wanted:
            return {}
        found: dict[str, tuple[str, str]] = {}
        service_marks = ",".join("?" * len(services))
        for start in range(0, len(wanted), ELSEWHERE_CHUNK):
            chunk = wanted[start:start + ELSEWHERE_CHUNK]
            rows = self.conn.all(
                f"SELECT draft_id, thread_id, updated_at FROM send_ledger WHERE draft_id IN "
                f"({','.join('?' * len(chunk))}) AND service IN ({service_marks}) AND thread_id != ? "
                "AND status IN ('sent', 'pending') AND day NOT LIKE 'copied:%' "
                "ORDER BY updated_at, thread_id", (*chunk, *services, thread_id))
            for draft_id, other, when in rows:
                found.setdefault(draft_id, (other, when))  # the first, as _elsewhere picks
        return found

    @_locked
    def record_blocked(self, thread_id: str, service: str,
                       items: Iterable[tuple[str, str, str]]) -> None:
        """(draft_id, email, reason) refused by a gate at send time: `skipped`, never over a
        row that already says `sent`."""
        now = clock.now_iso()
        day = clock.now().date().isoformat()
        rows = [(thread_id, draft_id, service, email, day, BLOCKED + reason, now, now)
                for draft_id, email, reason in items]
        if not rows:
            return
        with self.conn.transaction(lock=LOCK):
            self.conn.executemany(
                "INSERT INTO send_ledger (thread_id, draft_id, service, status, email, day, detail, "
                "created_at, updated_at) VALUES (?, ?, ?, 'skipped', ?, ?, ?, ?, ?) "
                "ON CONFLICT (thread_id, draft_id, service) DO UPDATE SET status='skipped', "
                "detail=excluded.detail, updated_at=excluded.updated_at "
                "WHERE send_ledger.status != 'sent'", rows)

    @_locked
    def skipped(self, thread_id: str, service: str) -> list[dict]:
        """This thread's skipped rows of `service` (queued, blocked, sent elsewhere), no payload."""
        if self.absent:
            return []
        names = ("draft_id", "email", "detail", "day", "updated_at")
        return [dict(zip(names, row)) for row in self.conn.all(
            f"SELECT {', '.join(names)} FROM send_ledger WHERE thread_id = ? "
            "AND service = ? AND status = 'skipped' ORDER BY draft_id", (thread_id, service))]

    def mark(self, thread_id: str, draft_id: str, service: str, status: str, detail: str = "") -> None:
        self.mark_many(thread_id, service, [draft_id], status, detail)

    @_locked
    def mark_many(self, thread_id: str, service: str, draft_ids: Iterable[str], status: str,
                  detail: str = "") -> None:
        now = clock.now_iso()
        rows = [(status, detail, now, thread_id, draft_id, service) for draft_id in draft_ids]
        if not rows:
            return
        with self.conn.transaction(lock=LOCK):
            self.conn.executemany(
                "UPDATE send_ledger SET status=?, detail=?, updated_at=? "
                "WHERE thread_id=? AND draft_id=? AND service=?", rows)

    # -- reading --------------------------------------------------------------------------------
    @_locked
    def rows(self, thread_id: str, service: str | None = None,
             statuses: Iterable[str] | None = None) -> list[dict]:
        if self.absent:
            return []
        sql = f"SELECT {', '.join(ROW_COLUMNS)} FROM send_ledger WHERE thread_id = ?"
        params: list[Any] = [thread_id]
        if service is not None:
            sql += " AND service = ?"
            params.append(service)
        if statuses is not None:
            statuses = list(statuses)
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params += statuses
        sql += " ORDER BY created_at, draft_id, service"
        result = []
        for row in self.conn.all(sql, params):
            item = dict(zip(ROW_COLUMNS, row))
            item["payload"] = json.loads(item["payload"])
            result.append(item)
        return result

    @_locked
    def counts(self, thread_id: str) -> dict[str, dict[str, int]]:
        """{service: {status: count}} for one thread."""
        out: dict[str, dict[str, int]] = {}
        if self.absent:
            return out
        for service, status, count in self.conn.all(
                "SELECT service, status, COUNT(*) FROM send_ledger WHERE thread_id = ? "
                "GROUP BY service, status", (thread_id,)):
            out.setdefault(service, {})[status] = count
        return out


class AsyncLedger:
    """`Ledger` for async code: the same methods, awaited, each run in a worker thread."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @classmethod
    async def open(cls, db_path: str | Path) -> "AsyncLedger":
        return cls(await asyncio.to_thread(Ledger, db_path))

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.ledger, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)
        return call

    async def close(self) -> None:
        await asyncio.to_thread(self.ledger.close)

    async def __aenter__(self) -> "AsyncLedger":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
