"""Instantly, Attio and Linear clients against the sandbox, and build_services wiring."""

import json
import uuid

import httpx
import pytest

from graphs.clients.http import VendorError
from graphs.core.config import Config
from graphs.sandbox.handler import Fault
from graphs.sandbox.server import serve
from graphs.clients.services import build_services

try:
    from tests.helpers_servers import Recorder, fake_time, sandbox  # noqa: F401
except ImportError:
    from helpers_servers import Recorder, fake_time, sandbox  # noqa: F401

ENV = {"GITHUB_TOKEN": "ghp_live_token_123456", "INSTANTLY_API_KEY": "inst_key_abcdef",
       "ATTIO_API_KEY": "attio_key_abcdef", "LINEAR_API_KEY": "lin_api_abcdef123"}


def live_config(base_url: str = "https://api.github.com", **overrides) -> Config:
    execution = {"instantly": {"base_url": base_url}, "attio": {"base_url": base_url},
                 "linear": {"base_url": base_url}}
    return Config.model_validate({"github": {"mode": "live", "base_url": base_url},
                                  "execution": execution, **overrides})


@pytest.fixture
def wired(sandbox):
    """Services in live mode whose transport records every request into the sandbox."""
    recorder = Recorder(sandbox.handle)
    services = build_services(live_config(), ENV, transport=httpx.MockTransport(recorder))
    yield services, sandbox, recorder


def leads(*emails):
    return [{"email": e, "first_name": "Ada", "last_name": "L", "company_name": "[reverse]boom",
             "personalization": "hi", "custom_variables": {"repo": "a/b"}} for e in emails]


async def test_instantly_skip_if_in_campaign_deduplicates(wired):
    services, box, recorder = wired
    first = await services.instantly.add_leads("camp-1", leads("a@example.com", "b@example.com"))
    again = await services.instantly.add_leads("camp-1", leads("a@example.com", "c@example.com"))
    assert (first["leads_uploaded"], first["skipped_count"]) == (2, 0)
    assert (again["leads_uploaded"], again["skipped_count"]) == (1, 1)
    assert [lead["email"] for lead in box.instantly_leads] == ["a@example.com", "b@example.com", "c@example.com"]
    sent = json.loads(recorder.requests[0].content)
    assert sent["skip_if_in_campaign"] is True and sent["campaign_id"] == "camp-1"
    assert recorder.requests[0].headers["authorization"] == "Bearer inst_key_abcdef"
    other_campaign = await services.instantly.add_leads("camp-2", leads("a@example.com"))
    assert other_campaign["leads_uploaded"] == 1


async def test_instantly_without_skip_would_duplicate(sandbox):
    body = {"campaign_id": "c", "leads": leads("x@example.com")}
    for _ in range(2):
        sandbox.handle(httpx.Request("POST", "https://i/api/v2/leads/add", json=body,
                                     headers={"authorization": "Bearer k"}))
    assert len(sandbox.instantly_leads) == 2  # why the client always sets the flag


async def test_instantly_counts_invalid_and_duplicate_emails_and_checks_sizes(wired):
    services, _, _ = wired
    answer = await services.instantly.add_leads("c", leads("a@example.com", "A@example.com", "nope"))
    assert (answer["leads_uploaded"], answer["duplicate_email_count"], answer["invalid_email_count"]) == (1, 1, 1)
    with pytest.raises(ValueError):
        await services.instantly.add_leads("c", [])
    with pytest.raises(ValueError):
        await services.instantly.add_leads("c", leads(*[f"u{i}@example.com" for i in range(1001)]))


async def test_attio_upsert_matches_on_email(wired):
    services, box, recorder = wired
    one = await services.attio.upsert_person("Ada@Example.com", "Ada", "Lovelace")
    two = await services.attio.upsert_person("ada@example.com", "Ada", "King")
    assert one["data"]["id"]["record_id"] == two["data"]["id"]["record_id"]
    assert len(box.attio_people) == 1 and box.attio_people["ada@example.com"]["last_name"] == "King"
    request = recorder.requests[0]
    assert request.method == "PUT" and request.url.params["matching_attribute"] == "email_addresses"
    assert request.headers["authorization"] == "Bearer attio_key_abcdef"
    values = json.loads(request.content)["data"]["values"]
    assert values["name"][0]["full_name"] == "Ada Lovelace"


async def test_linear_duplicate_id_returns_the_existing_issue(wired):
    services, box, recorder = wired
    issue_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "lead:ada"))
    created = await services.linear.create_issue("team-1", "Follow up Ada", "score 91", issue_id)
    repeated = await services.linear.create_issue("team-1", "Follow up Ada", "score 91", issue_id)
    assert created["created"] is True and repeated["created"] is False
    assert {k: created[k] for k in ("id", "identifier", "url")} == {k: repeated[k] for k in ("id", "identifier", "url")}
    assert list(box.linear_issues) == [issue_id]
    assert recorder.requests[0].headers["authorization"] == "lin_api_abcdef123"  # no Bearer
    sent = json.loads(recorder.requests[0].content)
    assert sent["variables"]["input"] == {"id": issue_id, "teamId": "team-1", "title": "Follow up Ada",
                                          "description": "score 91"}


async def test_linear_refusal_for_a_missing_issue_is_raised(wired):
    services, _, _ = wired
    with pytest.raises(VendorError) as caught:
        await services.linear.create_issue("", "no team", "", str(uuid.uuid4()))
    assert caught.value.status == 400 and "teamId" in caught.value.message


async def test_linear_create_retried_after_a_lost_answer_is_exactly_once(wired, fake_time):
    services, box, _ = wired
    issue_id = str(uuid.uuid4())
    await services.linear.create_issue("team-1", "t", "d", issue_id)
    box.faults.append(Fault("/graphql", 503, times=1))
    again = await services.linear.create_issue("team-1", "t", "d", issue_id)
    assert again["created"] is False and len(box.linear_issues) == 1


async def test_sandbox_mode_routes_all_four_vendors_to_one_embedded_sandbox():
    cfg = Config.model_validate({"sandbox": {"seed": 11, "latency_ms": 0}})
    services = build_services(cfg, env={})
    try:
        assert services.sandbox and services.sandbox_handler.seed == 11
        items = await services.github.search_repositories("language:python", 3)
        await services.instantly.add_leads("camp", leads("z@example.com"))
        await services.attio.upsert_person("z@example.com", "Z", "Y")
        await services.linear.create_issue("team", "t", "d", str(uuid.uuid4()))
        box = services.sandbox_handler
        assert items and box.instantly_leads and box.attio_people and box.linear_issues
        assert services.github.use_graphql  # the sandbox stands in a credential
    finally:
        await services.aclose()
    assert all(client.is_closed for client in services.http_clients) and len(services.http_clients) == 4


async def test_live_mode_uses_configured_base_urls_timeouts_and_env_secrets():
    cfg = live_config("https://ghe.example.internal/api/v3",
                      timeouts={"github_api": 3, "linear_api": 4})
    services = build_services(cfg, ENV)
    try:
        assert services.sandbox is False and services.sandbox_handler is None
        assert services.github.http.base_url == "https://ghe.example.internal/api/v3"
        assert services.github.http.timeout == 3 and services.linear.http.timeout == 4
        assert services.github.http.headers["Authorization"] == "Bearer ghp_live_token_123456"
        assert services.github.use_graphql is True
    finally:
        await services.aclose()
    auto = build_services(Config(), {"GITHUB_TOKEN": "ghp_x"})
    assert auto.sandbox is False and auto.instantly.http.base_url == "https://api.instantly.ai"
    assert "Authorization" not in auto.instantly.http.headers  # missing secret: no header, no fake
    await auto.aclose()


async def test_graphql_off_in_config_means_rest():
    services = build_services(live_config(github={"mode": "live", "graphql": "off"}), ENV)
    assert services.github.use_graphql is False
    await services.aclose()


async def test_services_against_a_real_loopback_server(sandbox):
    with serve(sandbox) as url:
        events = []
        services = build_services(live_config(url), ENV, on_event=events.append)
        try:
            items = await services.github.search_repositories("language:javascript", 2)
            users, errors = await services.github.users(["dependabot[bot]", "nobody-here"])
            answer = await services.instantly.add_leads("camp", leads("q@example.com"))
        finally:
            await services.aclose()
    assert len(items) == 2 and answer["leads_uploaded"] == 1
    assert users == [] and len(errors) == 2  # bots are not GraphQL Users; the other is unknown
    assert any(e["kind"] == "rate" and e["resource"] == "search" for e in events)
    assert not any(secret in json.dumps(events) for secret in ENV.values())
