"""ICP score of a lead: a documented, deterministic 0-100 formula, and email usability.

`icp_score(lead, icp, now)` adds seven capped parts (maximum 100):

| part          | max | rule                                                                        |
|---------------|-----|-----------------------------------------------------------------------------|
| contributions |  30 | 30 * min(1, log10(1 + contributions) / 3)   (1,000 commits = full marks)    |
| role          |  15 | maintainer 15, core 8, contributor 0                                        |
| reach         |  15 | 15 * min(1, log10(1 + followers) / 4)       (10,000 followers = full)       |
| repo fit      |  15 | repo stars inside the ICP range 10 (outside 0) + 5 when the repo language   |
|               |     | is one of the ICP languages                                                 |
| topic fit     |  10 | bio/company mention an ICP keyword or topic (case-insensitive word match)   |
| reachable     |  10 | a usable email address                                                      |
| recent        |   5 | profile updated within `activity_days` of `now`                              |

The total is rounded half-up to an int and clamped to 0..100. `priority(score)`: high >= 80,
medium >= 50, low otherwise. Same inputs, same score: nothing random, no wall clock (`now` is a
parameter).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Mapping

from graphs.core.clock import parse_time

ROLE_POINTS = {"maintainer": 15, "core": 8, "contributor": 0}
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[A-Za-z]{2,}$")


def email_problem(email: Any) -> str | None:
    """Why this address cannot be sent to, or None when it is usable."""
    if not isinstance(email, str) or not email.strip():
        return "no public email"
    email = email.strip()
    if not _EMAIL.match(email):
        return "invalid email address"
    if email.lower().endswith("noreply.github.com") or "noreply" in email.split("@")[0].lower():
        return "no-reply address"
    return None


def _log_share(value: Any, full_at_log10: float) -> float:
    try:
        number = max(0.0, float(value or 0))
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, math.log10(1 + number) / full_at_log10)


def _stars_range(icp: Mapping[str, Any]) -> tuple[int, int] | None:
    match = re.match(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$", str(icp.get("stars_range") or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def _mentions(text: str, words: list[str]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])", lowered)
               for word in words if word)


def score_parts(lead: Mapping[str, Any], icp: Mapping[str, Any], now: datetime) -> dict[str, float]:
    """Each part of the formula (see the module docstring), before rounding."""
    parts = {
        "contributions": 30 * _log_share(lead.get("contributions"), 3),
        "role": float(ROLE_POINTS.get(str(lead.get("role") or "contributor"), 0)),
        "reach": 15 * _log_share(lead.get("followers"), 4),
    }
    fit = 0.0
    stars = lead.get("repo_stars")
    bounds = _stars_range(icp)
    if bounds and isinstance(stars, (int, float)) and bounds[0] <= stars <= bounds[1]:
        fit += 10
    languages = [str(x).lower() for x in icp.get("languages") or []]
    if str(lead.get("language") or "").lower() in languages:
        fit += 5
    parts["repo_fit"] = fit
    words = [str(x) for x in list(icp.get("keywords") or []) + list(icp.get("topics") or [])]
    text = " ".join(str(lead.get(key) or "") for key in ("bio", "company"))
    parts["topic_fit"] = 10.0 if _mentions(text, words) else 0.0
    parts["reachable"] = 10.0 if email_problem(lead.get("email")) is None else 0.0
    updated = parse_time(lead.get("last_activity"))
    days = int(icp.get("activity_days") or 90)
    parts["recent"] = 5.0 if updated and 0 <= (now - updated).total_seconds() <= days * 86400 else 0.0
    return parts


def icp_score(lead: Mapping[str, Any], icp: Mapping[str, Any], now: datetime) -> int:
    total = sum(score_parts(lead, icp, now).values())
    return max(0, min(100, int(math.floor(total + 0.5))))


def priority(score: int) -> str:
    if score >= 80:
        return "high"
    if score >= 50:
        return "medium"
    return "low"
