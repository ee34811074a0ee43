"""The one connection type for cmo's own tables behaves the same on SQLite and Postgres."""

from __future__ import annotations

import threading

import pytest

from graphs.storage import sqldb
from graphs.storage.db import DatabaseError

TABLE = """
CREATE TABLE IF NOT EXISTS claims (
    thing TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    at DOUBLE PRECISION NOT NULL DEFAULT 0,
    payload BLOB
);
"""


def test_statements_transactions_and_conflicts(db_location):
    with sqldb.connect(db_location) as db:
        db.script(TABLE)
        assert db.table_exists("claims") and not db.table_exists("nope")
        db.execute("INSERT INTO claims (thing, owner, at, payload) VALUES (?, ?, ?, ?)",
                   ("t1", "ann", 1764581234.123456, b"\x00\x01"))
        db.execute("INSERT INTO claims (thing, owner) VALUES (?, ?) ON CONFLICT (thing) DO NOTHING",
                   ("t1", "bob"))
        db.execute("INSERT INTO claims (thing, owner) VALUES (?, ?) ON CONFLICT (thing) "
                   "DO UPDATE SET n = claims.n + 1", ("t1", "bob"))
        owner, n, at, payload = db.one("SELECT owner, n, at, payload FROM claims WHERE thing = ?",
                                       ("t1",))
        assert (owner, n, bytes(payload)) == ("ann", 1, b"\x00\x01")
        assert at == pytest.approx(1764581234.123456, abs=1e-6)  # epoch seconds keep microseconds
        with pytest.raises(RuntimeError):
            with db.transaction(lock="claims:t2"):
                db.execute("INSERT INTO claims (thing, owner) VALUES (?, ?)", ("t2", "cat"))
                raise RuntimeError("abort")
        assert db.one("SELECT 1 FROM claims WHERE thing = 't2'") is None  # rolled back
        db.executemany("INSERT INTO claims (thing, owner) VALUES (?, ?)", [("a", "x"), ("b", "y")])
        assert db.one("SELECT count(*) FROM claims WHERE owner LIKE 'x%'")[0] == 1
    # Committed work is visible to another connection (another process or machine).
    with sqldb.connect(db_location) as other:
        assert [r[0] for r in other.all("SELECT thing FROM claims ORDER BY thing")] == ["a", "b", "t1"]


def test_a_named_lock_serialises_two_claimants(db_location):
    """Two connections claiming the same thing: exactly one wins, the other sees the winner."""
    with sqldb.connect(db_location) as db:
        db.script(TABLE)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def claim(who: str) -> None:
        with sqldb.connect(db_location) as db:
            barrier.wait()
            with db.transaction(lock="claims:the-thing"):
                row = db.one("SELECT owner FROM claims WHERE thing = 'the-thing'")
                if row is None:
                    db.execute("INSERT INTO claims (thing, owner) VALUES ('the-thing', ?)", (who,))
                    results.append(f"won:{who}")
                else:
                    results.append(f"refused:{who}:{row[0]}")

    threads = [threading.Thread(target=claim, args=(f"op{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [r for r in results if r.startswith("won:")]
    assert len(results) == 4 and len(winners) == 1
    winner = winners[0].split(":")[1]
    refused = [r for r in results if r.startswith("refused:")]
    assert len(refused) == 3 and all(r.endswith(f":{winner}") for r in refused)


def test_an_unreachable_server_is_a_clear_error_without_the_password():
    with pytest.raises(DatabaseError) as info:
        sqldb.connect("postgresql://cmo:s3cret@127.0.0.1:1/cmo")
    message = str(info.value)
    assert "cannot connect" in message and "s3cret" not in message and "cmo:***@127.0.0.1:1" in message
