"""Idempotent forks: one checkpoint of one thread forks into one thread, however often asked.

The fork id is derived from (source thread, checkpoint): a retried or killed
`cmo resume SOURCE --checkpoint ID` finds the fork it already made and continues it instead of
making another (each extra fork would be one more thread whose sends the ledger must skip).
The copy itself is graphs/storage/maintenance.py `fork_thread`; vendor effects are never
repeated because the send ledger de-duplicates across threads (graphs/cmo/ledger.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def fork_id_for(source_thread: str, checkpoint_id: str) -> str:
    """`<graph prefix>-fork-<12 hex>`: the same for the same source and checkpoint."""
    digest = hashlib.sha256(f"{source_thread}\0{checkpoint_id}".encode()).hexdigest()[:12]
    prefix = "mkt" if source_thread.startswith("mkt-") else "cmo"
    return f"{prefix}-fork-{digest}"


def find_or_fork(db_path: str | Path, source_thread: str, checkpoint_id: str,
                 fork_to: str | None = None) -> tuple[str, bool]:
    """(the fork's thread id, True when it was made now / False when it already existed)."""
    from graphs.core.runner import RunRefused
    from graphs.storage.maintenance import fork_thread
    from graphs.storage.registry import get_thread

    from graphs.core.ids import check_id

    thread_id = check_id(fork_to, "--fork-to") if fork_to else fork_id_for(source_thread, checkpoint_id)
    if get_thread(db_path, thread_id) is not None:
        return thread_id, False
    try:
        return fork_thread(db_path, source_thread, checkpoint_id, thread_id), True
    except RunRefused:
        if get_thread(db_path, thread_id) is not None:  # another attempt made it meanwhile
            return thread_id, False
        raise
