"""GitHubClient against the sandbox: search paging and cap, contributors, GraphQL batches, REST limiter."""

import json

import httpx

from graphs.clients.github import PROVENANCE_FIELDS, USER_FIELDS, GitHubClient, build_users_query
from graphs.sandbox.data import SandboxData
from graphs.sandbox.handler import Fault, Sandbox

try:
    from tests.helpers_servers import (START, Recorder, fake_time, http_service,  # noqa: F401
                                       max_in_window, sandbox, served_sandbox)
except ImportError:
    from helpers_servers import (START, Recorder, fake_time, http_service,  # noqa: F401
                                 max_in_window, sandbox, served_sandbox)


def make_client(box, *, token="t0ken-for-tests", graphql=True, per_hour=5000, concurrency=8,
                events=None, rest_per_minute=900):
    recorder = Recorder(box.handle)
    http = http_service("https://api.github.example", transport=httpx.MockTransport(recorder),
                        events=events)
    return GitHubClient(http, token, graphql, per_hour, concurrency,
                        rest_per_minute=rest_per_minute), recorder


async def test_graphql_batches_3000_users_in_30_calls(fake_time):
    box = Sandbox(seed=7, data=SandboxData.generate(7, people_count=3000, now=START))
    client, recorder = make_client(box)
    humans = [login for login, user in box.data.users.items() if user["type"] == "User"][:3000]
    progress = []
    users, errors = await client.users(humans, on_progress=lambda done, total: progress.append((done, total)))
    assert len(users) == 3000 and errors == []
    assert client.calls == 30 and len(recorder.requests) == 30
    assert progress == [(100 * i, 3000) for i in range(1, 31)]
    assert [u["login"] for u in users] == humans
    assert all(set(u) == set(USER_FIELDS) | set(PROVENANCE_FIELDS) for u in users)
    assert {u["email_source"] for u in users} <= {"graphql", "none"}
    sent = json.loads(recorder.requests[0].content)
    assert len(sent["variables"]) == 100 and sent["query"].count("user(login:") == 100
    assert recorder.requests[0].headers["authorization"] == "Bearer t0ken-for-tests"


async def test_graphql_and_rest_return_the_same_user_dicts(sandbox):
    logins = [login for login, user in sandbox.data.users.items() if user["type"] == "User"][:60]
    via_graphql, _ = await make_client(sandbox, graphql=True)[0].users(logins)
    via_rest, _ = await make_client(sandbox, graphql=False)[0].users(logins)
    # The same profile either way; only the provenance says which API the address came from.
    def strip(users):
        return [{k: v for k, v in u.items() if k not in PROVENANCE_FIELDS} for u in users]
    assert strip(via_graphql) == strip(via_rest)
    assert {u["email_source"] for u in via_rest if u["email"]} == {"profile"}
    assert {u["email_source"] for u in via_graphql if u["email"]} == {"graphql"}
    assert {u["email_source"] for u in via_rest if not u["email"]} == {"none"}
    assert any(u["email"] is None for u in via_rest) and any(u["email"] for u in via_rest)


async def test_graphql_missing_users_and_hostile_logins_are_per_user_errors(sandbox):
    client, _ = make_client(sandbox)
    good = next(iter(sandbox.data.users))
    users, errors = await client.users([good, 'a"b) { x } #', "ghost-user", good])
    assert [u["login"] for u in users] == [good]  # duplicates asked once
    assert len(errors) == 2 and all(e.status == 404 and not e.retryable for e in errors)
    assert "ghost-user" in errors[1].message


async def test_graphql_needs_a_token_so_without_one_rest_is_used(sandbox):
    client, recorder = make_client(sandbox, token=None, graphql=True)
    assert client.use_graphql is False
    logins = list(sandbox.data.users)[:3]
    users, errors = await client.users(logins)
    assert len(users) == 3 and not errors
    assert all(r.url.path.startswith("/users/") for r in recorder.requests)
    assert all("authorization" not in r.headers for r in recorder.requests)


async def test_a_failed_graphql_batch_reports_every_user_in_it(sandbox, fake_time):
    sandbox.faults.append(Fault("/graphql", 502, times=10))
    client, _ = make_client(sandbox)
    client.http.max_retries = 1
    users, errors = await client.users(list(sandbox.data.users)[:5])
    assert users == [] and len(errors) == 5 and all(e.retryable and e.status == 502 for e in errors)


async def test_rest_users_stay_within_the_hourly_budget(sandbox, fake_time):
    client, recorder = make_client(sandbox, token=None, per_hour=20, concurrency=8)
    logins = [login for login, user in sandbox.data.users.items() if user["type"] == "User"][:50]
    progress = []
    users, errors = await client.users(logins, on_progress=lambda d, t: progress.append(d))
    assert len(users) == 50 and not errors
    assert len(recorder.times) == 50 and max_in_window(recorder.times, 3600) == 20
    assert recorder.times[-1] - recorder.times[0] == 7200  # 20, 20 an hour later, then 10
    assert sorted(progress) == list(range(1, 51))
    assert {u["login"] for u in users} == set(logins)


async def test_rest_users_also_stay_within_the_per_minute_budget(sandbox, fake_time):
    client, recorder = make_client(sandbox, token=None, per_hour=5000, rest_per_minute=15)
    logins = [login for login, user in sandbox.data.users.items() if user["type"] == "User"][:40]
    users, errors = await client.users(logins)
    assert len(users) == 40 and not errors
    assert max_in_window(recorder.times, 60) == 15
    assert recorder.times[-1] - recorder.times[0] == 120  # 15, 15 a minute later, then 10


async def test_search_pages_and_stops_at_max_results(fake_time):
    box = Sandbox(seed=3, data=SandboxData.generate(3, repo_count=1500, people_count=40, now=START))
    client, recorder = make_client(box)
    items = await client.search_repositories("stars:>=0", 250)
    assert len(items) == 250 and len(recorder.requests) == 3
    stars = [item["stargazers_count"] for item in items]
    assert stars == sorted(stars, reverse=True)
    params = recorder.requests[2].url.params
    assert (params["page"], params["per_page"], params["sort"], params["order"]) == ("3", "100", "stars", "desc")


async def test_search_never_goes_past_the_1000_cap(fake_time):
    box = Sandbox(seed=3, data=SandboxData.generate(3, repo_count=1500, people_count=40, now=START))
    client, recorder = make_client(box)
    items = await client.search_repositories("stars:>=0", 5000)
    assert len(items) == 1000 and len(recorder.requests) == 10
    assert len({item["full_name"] for item in items}) == 1000


async def test_search_stops_when_exhausted(sandbox):
    client, recorder = make_client(sandbox)
    items = await client.search_repositories("language:python", 500)
    assert 0 < len(items) < 100 and len(recorder.requests) == 1
    assert all(item["language"] == "Python" for item in items)


async def test_search_budget_waits_instead_of_hitting_the_limit(sandbox, fake_time):
    client, recorder = make_client(sandbox)
    for _ in range(35):
        await client.search_repositories("language:go", 10)
    assert max_in_window(recorder.times, 60) == 30
    assert fake_time.sleeps and sandbox.calls("/search/") == 35
    assert set(recorder.statuses) == {200}  # the sandbox enforces 30/min: no 403 was needed


async def test_contributors_pages_and_limits(sandbox):
    client, recorder = make_client(sandbox)
    big = sandbox.data.repos[0]["full_name"]
    expected = sandbox.data.contributors[big]
    assert len(expected) > 150
    everyone = await client.contributors(big, limit=1000)
    assert everyone == expected and len(recorder.requests) == -(-len(expected) // 100)
    first = await client.contributors(big, limit=100)
    assert first == expected[:100]


async def test_empty_repository_gives_no_contributors(sandbox):
    client, _ = make_client(sandbox)
    empty = [name for name, entries in sandbox.data.contributors.items() if not entries]
    assert empty and await client.contributors(empty[0]) == []


async def test_users_query_is_valid_for_awkward_logins():
    query, variables = build_users_query(['x"y', "dependabot[bot]"])
    assert 'x"y' not in query and variables == {"l0": 'x"y', "l1": "dependabot[bot]"}
    assert "$l0: String!" in query and "...CmoUser" in query


async def test_rest_over_real_http(served_sandbox):
    box, url = served_sandbox
    http = http_service(url)
    client = GitHubClient(http, None, False, 5000)
    try:
        items = await client.search_repositories("language:python", 5)
        people = await client.contributors(items[0]["full_name"], limit=5)
        users, errors = await client.users([p["login"] for p in people])
    finally:
        await http.client.aclose()
    assert len(items) == 5 and people and len(users) + len(errors) == len(people)
