"""A marketing thread continued goal after goal must grow linearly: the same bytes per turn.

Before the transcript became a DeltaChannel every checkpoint re-stored the whole transcript, so
bytes added per turn rose every turn (quadratic growth; 146x the final state at 21 goals).
"""

from __future__ import annotations

import json

from graphs.marketing_team.growth import grow_marketing_thread


async def test_bytes_per_turn_are_flat_and_total_is_bounded(tmp_path):
    rows = await grow_marketing_thread(tmp_path / "growth.sqlite", 7)
    final = rows[-1].pop("final_values")
    added = [row["added_bytes"] for row in rows[1:]]  # turn 1 also holds the thread's setup
    # Quadratic growth adds the whole (growing) transcript again each turn: turn 7 would add
    # ~3x what turn 2 did. Flat growth stays within a few percent.
    assert max(added) <= 1.10 * min(added), added
    final_bytes = len(json.dumps(final, default=str).encode())
    assert rows[-1]["stored_bytes"] <= 5 * final_bytes, (rows[-1]["stored_bytes"], final_bytes)
    assert len(final["messages"]) > 7 * 10
