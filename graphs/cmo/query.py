"""GitHub repository search queries built from the ICP (pure).

GitHub's search ANDs qualifiers: `language:a language:b` or `topic:a topic:b` would demand both.
So each language, and each topic, gets its own query (the cross product), and the results are
merged by the caller. Keywords are OR-ed inside one query (`testing OR ci OR devtools`); GitHub
allows at most five AND/OR/NOT operators per query, so more than six keywords are split into
groups of six, each group one more query.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import product
from typing import Any, Mapping

MAX_KEYWORDS_PER_QUERY = 6  # five ORs
_UNSAFE = re.compile(r'["\\:()\s]+')


def _term(word: Any) -> str:
    """A keyword/qualifier value with GitHub syntax characters removed (spaces -> quoted phrase)."""
    text = str(word or "").strip()
    parts = [part for part in _UNSAFE.split(text) if part]
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else '"' + " ".join(parts) + '"'


def _qualifier_value(word: Any) -> str:
    return "-".join(part for part in _UNSAFE.split(str(word or "").strip().lower()) if part)


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    return [v for v in values if v and not (v.lower() in seen or seen.add(v.lower()))]


def build_queries(icp: Mapping[str, Any], today: date) -> list[str]:
    """One or more `q` strings for `GET /search/repositories`, in a stable order."""
    keywords = _unique([_term(k) for k in icp.get("keywords") or []])
    languages = _unique([_qualifier_value(x) for x in icp.get("languages") or []]) or [""]
    topics = _unique([_qualifier_value(x) for x in icp.get("topics") or []]) or [""]
    groups = [keywords[i:i + MAX_KEYWORDS_PER_QUERY]
              for i in range(0, len(keywords), MAX_KEYWORDS_PER_QUERY)] or [[]]

    common: list[str] = []
    stars = str(icp.get("stars_range") or "").replace(" ", "")
    if re.fullmatch(r"\d+\.\.\d+", stars):
        common.append(f"stars:{stars}")
    days = icp.get("activity_days")
    if isinstance(days, int) and days > 0:
        common.append(f"pushed:>={(today - timedelta(days=days)).isoformat()}")

    queries: list[str] = []
    for group, language, topic in product(groups, languages, topics):
        parts = [" OR ".join(group)] if group else []
        if language:
            parts.append(f"language:{language}")
        if topic:
            parts.append(f"topic:{topic}")
        parts += common
        query = " ".join(parts)
        if query and query not in queries:
            queries.append(query)
    return queries
