"""The installed LangGraph SQLite saver still has the schema graphs/storage/sql.py relies on.

graphs/storage/sql.py is the one module that queries LangGraph's own tables; their schema is
private to langgraph-checkpoint-sqlite. This probes a database the installed saver creates
(setup()) for every column the module uses, checks that the saver's own pending-writes query
reads `writes.task_path` (present from 3.1.2: pyproject's floor), and that the installed versions
are inside the range pyproject.toml declares as tested.
"""

from __future__ import annotations

import re
import sqlite3
from importlib.metadata import version
from pathlib import Path

from graphs.storage import sql

ROOT = Path(__file__).resolve().parents[1]


def test_the_installed_saver_creates_every_column_sql_py_uses(tmp_path):
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(tmp_path / "probe.sqlite")
    SqliteSaver(conn).setup()
    for table, wanted in sql.REQUIRED_COLUMNS.items():
        have = set(sql.columns(conn, table))
        assert set(wanted) <= have, f"{table} lacks {set(wanted) - have}"
    conn.close()


def test_the_saver_reads_task_path_like_sql_py_does():
    from langgraph.checkpoint.sqlite.utils import pending_writes_sql

    assert "task_path" in pending_writes_sql(True)


def _range(package: str) -> tuple[str, str]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(rf'"{re.escape(package)}>=([0-9.]+),<([0-9.]+)"', text)
    assert match, f"pyproject.toml must give {package} a floor and a tested upper bound"
    return match.group(1), match.group(2)


def _tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_installed_versions_are_inside_the_tested_range():
    for package in ("langgraph", "langgraph-checkpoint", "langgraph-checkpoint-sqlite"):
        low, high = _range(package)
        installed = _tuple(version(package))
        assert _tuple(low) <= installed < _tuple(high), (package, version(package), low, high)
    assert _tuple(_range("langgraph-checkpoint-sqlite")[0]) >= (3, 1, 2)  # writes.task_path
