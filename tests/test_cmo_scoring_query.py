"""ICP scoring formula, email usability, search query building, safe templates."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from graphs.cmo.drafts import TemplateError, check_template, render_template
from graphs.cmo.query import build_queries
from graphs.cmo.scoring import email_problem, icp_score, priority, score_parts

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
ICP = {"keywords": ["testing", "ci"], "languages": ["python"], "stars_range": "100..2000",
       "activity_days": 90, "topics": ["pytest"]}


def test_perfect_lead_scores_100_and_empty_lead_scores_0():
    perfect = {"contributions": 999, "role": "maintainer", "followers": 9999, "repo_stars": 500,
               "language": "Python", "bio": "I love pytest", "email": "a@b.io",
               "last_activity": "2026-04-20T00:00:00Z"}
    assert icp_score(perfect, ICP, NOW) == 100
    assert icp_score({}, ICP, NOW) == 0
    assert priority(100) == "high" and priority(80) == "high"
    assert priority(79) == "medium" and priority(50) == "medium" and priority(49) == "low"


def test_each_part_follows_the_documented_formula():
    lead = {"contributions": 9, "role": "core", "followers": 99, "repo_stars": 50,
            "language": "go", "bio": "CI-minded", "company": None, "email": None,
            "last_activity": "2025-01-01T00:00:00Z"}
    parts = score_parts(lead, ICP, NOW)
    assert parts["contributions"] == pytest.approx(10.0)  # 30 * log10(10)/3
    assert parts["role"] == 8
    assert parts["reach"] == pytest.approx(7.5)  # 15 * log10(100)/4
    assert parts["repo_fit"] == 0  # stars outside, language not in ICP
    assert parts["topic_fit"] == 10  # "CI" matches keyword "ci" as a word
    assert parts["reachable"] == 0 and parts["recent"] == 0
    assert icp_score(lead, ICP, NOW) == 36  # 10 + 8 + 7.5 + 10 = 35.5 -> 36
    # keyword must be a word, not a substring ("ci" inside "precise")
    assert score_parts({**lead, "bio": "precise"}, ICP, NOW)["topic_fit"] == 0


def test_score_is_deterministic_and_bounded():
    lead = {"contributions": "junk", "followers": -5, "role": "unknown", "last_activity": "bad"}
    assert icp_score(lead, ICP, NOW) == icp_score(dict(lead), ICP, NOW) == 0


@pytest.mark.parametrize("email,problem", [
    ("a@b.io", None), (None, "no public email"), ("", "no public email"), ("nope", "invalid email address"),
    ("123+x@users.noreply.github.com", "no-reply address"), ("noreply@x.com", "no-reply address"),
    ("a b@c.io", "invalid email address")])
def test_email_problem(email, problem):
    assert email_problem(email) == problem


def test_queries_one_per_language_and_topic():
    icp = {"keywords": ["testing", "ci", "devtools"], "languages": ["python", "JavaScript"],
           "stars_range": "100..2000", "activity_days": 90, "topics": ["ci", "pytest"]}
    queries = build_queries(icp, date(2026, 5, 1))
    assert queries == [
        "testing OR ci OR devtools language:python topic:ci stars:100..2000 pushed:>=2026-01-31",
        "testing OR ci OR devtools language:python topic:pytest stars:100..2000 pushed:>=2026-01-31",
        "testing OR ci OR devtools language:javascript topic:ci stars:100..2000 pushed:>=2026-01-31",
        "testing OR ci OR devtools language:javascript topic:pytest stars:100..2000 pushed:>=2026-01-31",
    ]


def test_queries_without_optional_parts_and_hostile_terms():
    assert build_queries({"keywords": ["x"]}, date(2026, 1, 1)) == ["x"]
    assert build_queries({}, date(2026, 1, 1)) == []
    icp = {"keywords": ['a" stars:1', "machine learning", "Machine  Learning"],
           "languages": ["c sharp"], "topics": []}
    q = build_queries(icp, date(2026, 1, 1))
    assert q == ['"a stars 1" OR "machine learning" language:c-sharp']


def test_many_keywords_split_into_groups_of_six():
    queries = build_queries({"keywords": [f"k{i}" for i in range(8)]}, date(2026, 1, 1))
    assert queries == ["k0 OR k1 OR k2 OR k3 OR k4 OR k5", "k6 OR k7"]
    assert all(q.count(" OR ") <= 5 for q in queries)


def test_sandbox_parses_our_queries():
    from graphs.sandbox.github_api import parse_search

    (query, *_) = build_queries(ICP, date(2026, 5, 1))
    parsed = parse_search(query)
    assert parsed.keyword_groups == [["testing", "ci"]]
    assert parsed.languages == {"python"} and parsed.topics == {"pytest"}
    assert parsed.stars == (100, 2000) and parsed.pushed[0] == "2026-01-31"


def test_templates_are_safe():
    values = {"first_name": "{login}", "repo": "a/b", "sender": "me"}
    assert render_template("Hi {first_name} from {sender} {{x}}", values) == "Hi {login} from me {x}"
    for bad in ["{first_name.__class__}", "{repo[0]}", "{0}", "{}", "{first_name!r}", "{x}",
                "{first_name:>10}", "{"]:
        with pytest.raises(TemplateError):
            check_template(bad)
