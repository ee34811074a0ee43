"""Text snapshots of both run dashboards at 80x24 and 120x40, fed fixed data with a fixed clock.

The polling pass (`run_follow.read_run`) is replaced by one returning a fixed registry row and
state full of hostile text, so the picture depends only on the dashboard code and Textual.
Regenerate after an intended change with `CMO_UPDATE_SNAPSHOTS=1 pytest tests/test_console_snapshots_dashboards.py`
and review the diff of tests/snapshots/. Textual rendering changes between releases: snapshots
were recorded with the Textual version named in each file's first line.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import textual
from langchain_core.messages import AIMessage, HumanMessage

from console.screens import run_follow
from console.screens.cmo_dashboard import CmoDashboard
from console.screens.marketing_dashboard import MarketingDashboard
from graphs.storage.inspect import ThreadState
from graphs.storage.registry import ThreadRow
from test_console_dashboards import HOSTILE, dashboard_app, fixed_tz, screen_text, settle  # noqa: F401 (fixture)

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("CMO_UPDATE_SNAPSHOTS") == "1"


def cmo_fixture() -> tuple[ThreadRow, ThreadState]:
    hostile = HOSTILE
    values = {
        "current_stage": "enrichment",
        "repos": [{"id": i, "full_name": f"org{i}/{hostile[i % len(hostile)]}", "stars": 100 + 7 * i,
                   "language": "python", "description": hostile[(i + 1) % len(hostile)],
                   "topics": ["ci", "testing"], "updated_at": "2026-01-10T08:00:00Z"}
                  for i in range(40)],
        "candidates": [{"login": f"dev{i}", "from_repo": "org1/tool", "signal": "top_contributor",
                        "contributions": 500 - i} for i in range(25)],
        "leads": [{"login": f"dev{i}", "name": hostile[i % len(hostile)], "email": f"dev{i}@example.com",
                   "company": "Acme", "icp_score": (i * 37) % 100, "sendable": i % 3 != 0,
                   "bio": hostile[(i + 2) % len(hostile)]} for i in range(25)],
        "to_send": [{"draft_id": f"d{i}", "email": f"dev{i}@example.com", "subject": hostile[i % len(hostile)],
                     "body": "Hi [b]there[/b]\nsecond line",
                     "meta": {"prospect_id": f"dev{i}", "icp_score": 90 - i, "priority": "high",
                              "sendable": True}} for i in range(6)],
        "errors": [{"stage": "enrichment", "tool": "github", "error": "user lookup failed [/x]",
                    "timestamp": "2026-01-15T12:00:41Z", "retry_count": 2}],
        "history": [{"timestamp": f"2026-01-15T12:00:{10 + i:02d}Z", "stage": "discovery",
                     "action": "search_github_repos", "result": f"Found {i} repos [reverse]"}
                    for i in range(12)],
        "counters": {"steps": 7, "api_calls": 431, "github_api_calls": 402, "llm_api_calls": 29,
                     "tokens_used": 18250, "errors": 1},
    }
    row = ThreadRow(
        thread_id="cmo-20260115-120000-abcdef", graph="cmo", status="running", stage="enrichment",
        goal="find maintainers", started_at="2026-01-15T12:00:00Z", updated_at="2026-01-15T12:02:29Z",
        counts={"repos": 40, "candidates": 25, "leads": 25, "sendable": 16},
        progress={"stage": "enrich", "done": 1204, "total": 3000},
        waiting={"service": "github", "until": "2026-01-15T12:05:00Z", "reason": "rate-limited"},
        rate={"remaining": 812, "limit": 5000, "reset": "2026-01-15T12:05:00Z"}, version=9)
    return row, ThreadState(row.thread_id, values, ("enrich",), [], "ckpt-1", None, None)


def marketing_fixture() -> tuple[ThreadRow, ThreadState]:
    messages = [HumanMessage("Plan a launch for [bold]devtools[/bold] \x1b]0;title\x07", id="m0")]
    for index, agent in enumerate(["Strategist", "CampaignManager", "Researcher"]):
        messages.append(HumanMessage(f"DONE: {HOSTILE[index]} step {index}", name=agent, id=f"m{index + 1}"))
    messages.append(AIMessage("route: ContentCreator", name="Supervisor", id="m9"))
    values = {"messages": messages, "next": "ContentCreator", "error_count": 1,
              "completed_agents": ["Strategist", "CampaignManager", "Researcher"],
              "current_campaign_id": "camp-[/x]", "brand_identity": {"name": "[reverse]Acme"}}
    row = ThreadRow(thread_id="mkt-20260115-120000-abcdef", graph="marketing", status="running",
                    started_at="2026-01-15T12:00:00Z", version=4)
    return row, ThreadState(row.thread_id, values, ("ContentCreator",), [], "ckpt-1", None, None)


def compare(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    recorded = f"textual {textual.__version__}\n{text}"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no snapshot {path.name}; record it with CMO_UPDATE_SNAPSHOTS=1")
        path.write_text(recorded, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert recorded == expected, (f"{path.name} changed; review and regenerate with "
                                  f"CMO_UPDATE_SNAPSHOTS=1. Now:\n{recorded}")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("kind", ["cmo", "marketing"])
async def test_dashboard_snapshot(kind, size, tmp_path, monkeypatch, fixed_tz):
    row, state = cmo_fixture() if kind == "cmo" else marketing_fixture()
    monkeypatch.setattr(run_follow, "read_run", lambda db, thread, seen, on_row=None: (row, state, state.checkpoint_id))
    screen_class = CmoDashboard if kind == "cmo" else MarketingDashboard
    app = dashboard_app(tmp_path / "runs.db", lambda: screen_class(row.thread_id))
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app, passes=1)
        for _ in range(100):  # the footer paints a frame or two later on a busy machine
            if "Palette" in screen_text(app):
                break
            await pilot.pause()
        compare(f"{kind}_dashboard_{size[0]}x{size[1]}", screen_text(app))
