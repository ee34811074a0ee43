"""The sandbox's data and its GitHub shapes: deterministic, realistic, hostile where it should be."""

import json
from datetime import timedelta

import httpx
import pytest

from graphs.sandbox.data import BOTS, HOSTILE_STRINGS, SandboxData
from graphs.sandbox.github_api import parse_search
from graphs.sandbox.handler import Sandbox
from graphs.sandbox.server import serve

try:
    from tests.helpers_servers import START, fake_time, sandbox  # noqa: F401
except ImportError:
    from helpers_servers import START, fake_time, sandbox  # noqa: F401

REPO_KEYS = {"id", "name", "full_name", "description", "stargazers_count", "language", "topics",
             "pushed_at", "updated_at", "owner", "html_url"}
USER_KEYS = {"login", "name", "company", "blog", "location", "email", "hireable", "bio",
             "twitter_username", "public_repos", "followers", "following", "created_at", "updated_at"}


def get(box, path, **params):
    return box.handle(httpx.Request("GET", f"https://any.host{path}", params=params))


def graphql(box, query, variables=None, token="x"):
    headers = {"authorization": f"bearer {token}"} if token else {}
    return box.handle(httpx.Request("POST", "https://api.github.com/graphql", headers=headers,
                                    json={"query": query, "variables": variables or {}}))


def test_same_seed_same_data_other_seed_other_data():
    a, b = SandboxData.generate(7, now=START), SandboxData.generate(7, now=START)
    assert (a.repos, a.users, a.contributors) == (b.repos, b.users, b.contributors)
    c = SandboxData.generate(8, now=START)
    assert [r["full_name"] for r in c.repos] != [r["full_name"] for r in a.repos]


def test_dates_follow_the_clock(fake_time):
    data = SandboxData.generate(7)
    assert data.generated_at == START
    pushed = sorted(r["pushed_at"] for r in data.repos)
    year_ago = (START - timedelta(days=365)).isoformat()
    assert pushed[0] >= year_ago[:10] and pushed[-1] <= START.isoformat().replace("+00:00", "Z")
    recent = [p for p in pushed if p >= (START - timedelta(days=90)).isoformat()[:10]]
    assert 15 <= len(recent) < len(pushed)  # many active, not all


def test_realistic_spread():
    data = SandboxData.generate(7, now=START)
    assert len(data.repos) == 50 and 290 <= len(data.users) <= 320
    assert {r["language"] for r in data.repos} >= {"Python", "JavaScript", "Go", "Rust"}
    stars = [r["stargazers_count"] for r in data.repos]
    assert min(stars) >= 20 and max(stars) <= 20_000 and max(stars) > 5000
    assert sum(100 <= s <= 2000 for s in stars) >= 15
    assert all(set(r) >= REPO_KEYS for r in data.repos)
    assert sum(bool(r["topics"]) for r in data.repos) > 30
    humans = [u for u in data.users.values() if u["type"] == "User"]
    assert all(set(u) >= USER_KEYS for u in humans)
    without_email = sum(u["email"] is None for u in humans)
    assert 40 < without_email < len(humans) - 100


def test_contributors_include_bots_and_people_in_several_repos():
    data = SandboxData.generate(7, now=START)
    entries = [e for es in data.contributors.values() for e in es]
    assert {e["login"] for e in entries if e["type"] == "Bot"} <= set(BOTS)
    assert any(e["login"].endswith("[bot]") for e in entries)
    repos_per_person: dict[str, int] = {}
    for es in data.contributors.values():
        for e in es:
            repos_per_person[e["login"]] = repos_per_person.get(e["login"], 0) + 1
    assert sum(n >= 3 for n in repos_per_person.values()) >= 20
    for es in data.contributors.values():
        counts = [e["contributions"] for e in es]
        assert counts == sorted(counts, reverse=True)
    assert sum(not es for es in data.contributors.values()) == 2


def test_every_hostile_string_is_in_the_data_and_reachable():
    data = SandboxData.generate(7, now=START)
    contributors = {e["login"] for es in data.contributors.values() for e in es}
    for hostile in HOSTILE_STRINGS:
        holders = [u for u in data.users.values() if hostile in (u["bio"], u["name"], u["company"], u["location"])]
        assert holders, repr(hostile[:30])
        assert any(u["login"] in contributors for u in holders)
    assert any(len(u["bio"] or "") >= 50_000 for u in data.users.values())
    assert any("[/x]" in (r["description"] or "") for r in data.repos)
    for required in ["[/x]", "[@click=app.quit]", "[reverse]boom", "\x1b[31mred\x1b[0m", "\x1b]0;pwned\x07"]:
        assert required in HOSTILE_STRINGS
    assert any("\u202e" in s for s in HOSTILE_STRINGS)


def test_hostile_text_survives_the_http_round_trip(sandbox):
    login = next(l for l, u in sandbox.data.users.items() if u["bio"] == "\x1b]0;pwned\x07")
    assert get(sandbox, f"/users/{login}").json()["bio"] == "\x1b]0;pwned\x07"


def test_search_qualifiers_and_order(sandbox):
    body = get(sandbox, "/search/repositories", q="language:python stars:100..2000", per_page=100).json()
    assert body["total_count"] == len(body["items"]) > 0 and body["incomplete_results"] is False
    assert all(i["language"] == "Python" and 100 <= i["stargazers_count"] <= 2000 for i in body["items"])
    stars = [i["stargazers_count"] for i in body["items"]]
    assert stars == sorted(stars, reverse=True)
    cutoff = (START - timedelta(days=90)).date().isoformat()
    recent = get(sandbox, "/search/repositories", q=f"pushed:>={cutoff}", per_page=100).json()["items"]
    assert recent and all(i["pushed_at"] >= cutoff for i in recent)
    tagged = get(sandbox, "/search/repositories", q="topic:testing", per_page=100).json()["items"]
    assert tagged and all("testing" in i["topics"] for i in tagged)


def test_keywords_and_or():
    q = parse_search('testing OR ci devtools language:go language:Rust "in:name" stars:>50')
    assert q.keyword_groups == [["testing", "ci"], ["devtools"]]
    assert q.languages == {"go", "rust"} and q.stars == (51, float("inf"))


def test_paging_and_the_1000_cap():
    box = Sandbox(seed=1, data=SandboxData.generate(1, repo_count=1200, people_count=30, now=START))
    page10 = get(box, "/search/repositories", q="stars:>=0", per_page=100, page=10).json()
    assert page10["total_count"] == 1200 and len(page10["items"]) == 100
    page11 = get(box, "/search/repositories", q="stars:>=0", per_page=100, page=11)
    assert page11.status_code == 422 and "1000" in page11.json()["message"]


def test_rate_limit_headers_count_down_per_resource(sandbox):
    first = get(sandbox, "/search/repositories", q="ci")
    second = get(sandbox, "/search/repositories", q="ci")
    core = get(sandbox, "/users/dependabot[bot]")
    assert first.headers["x-ratelimit-resource"] == "search"
    assert int(first.headers["x-ratelimit-remaining"]) - 1 == int(second.headers["x-ratelimit-remaining"]) == 28
    assert core.headers["x-ratelimit-resource"] == "core" and core.headers["x-ratelimit-remaining"] == "4999"
    assert int(first.headers["x-ratelimit-reset"]) == int(START.timestamp()) + 60


def test_contributors_paging_204_and_404(sandbox):
    big = sandbox.data.repos[0]["full_name"]
    page2 = get(sandbox, f"/repos/{big}/contributors", per_page=100, page=2).json()
    assert page2 == sandbox.data.contributors[big][100:200]
    empty = next(n for n, es in sandbox.data.contributors.items() if not es)
    assert get(sandbox, f"/repos/{empty}/contributors").status_code == 204
    assert get(sandbox, "/repos/nobody/nothing/contributors").status_code == 404


def test_graphql_aliases_literals_fragments_and_variables(sandbox):
    login = next(iter(sandbox.data.users))
    query = ('fragment F on User { login bio followers { totalCount } }\n'
             'query($who: String!) { a1: user(login: "%s") { ...F } '
             'b_2 : user( login : $who ) { login email } c: user(login: "no\\"body") { login } }' % login)
    body = graphql(sandbox, query, {"who": login}).json()
    user = sandbox.data.users[login]
    assert body["data"]["a1"] == {"login": login, "bio": user["bio"],
                                  "followers": {"totalCount": user["followers"]}}
    assert body["data"]["b_2"] == {"login": login, "email": user["email"] or ""}
    assert body["data"]["c"] is None
    assert body["errors"][0]["type"] == "NOT_FOUND" and body["errors"][0]["path"] == ["c"]
    assert 'no"body' in body["errors"][0]["message"]


def test_graphql_requires_a_token_and_known_fields(sandbox):
    assert graphql(sandbox, '{ u: user(login: "x") { login } }', token=None).status_code == 401
    body = graphql(sandbox, '{ u: user(login: "x") { password } }').json()
    assert "password" in body["errors"][0]["message"] and "data" not in body


def test_request_log_keeps_no_secrets(sandbox):
    sandbox.handle(httpx.Request("GET", "https://x/users/a", headers={"authorization": "Bearer s3cr3t-value"}))
    assert "s3cr3t" not in json.dumps(sandbox.request_log)
    assert sandbox.request_log[-1]["authorized"] is True


async def test_latency_goes_through_the_clock(fake_time):
    box = Sandbox(seed=7, latency_ms=250)
    async with httpx.AsyncClient(transport=box.transport()) as client:
        response = await client.get("https://x/users/dependabot[bot]")
    assert response.status_code == 200 and fake_time.sleeps == [0.25]


def test_served_over_real_http(sandbox):
    with serve(sandbox) as url:
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(f"{url}/search/repositories", params={"q": "language:rust"}, timeout=5)
        missing = httpx.get(f"{url}/nothing/here", timeout=5)
    assert response.status_code == 200 and response.json()["items"]
    assert response.headers["x-ratelimit-resource"] == "search"
    assert missing.status_code == 404


def test_standalone_server_parses_its_arguments():
    from graphs.sandbox import server
    with pytest.raises(SystemExit):
        server.main(["--help"])
