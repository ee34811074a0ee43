"""GitHub: repository search, contributors, and user profiles (GraphQL batches or REST).

Query strings are built by graphs/cmo/query.py; this module only fetches. Budgets: the core (or
GraphQL) budget `per_hour` and the search budget (30/min with a token, 10 without) are enforced
client-side by token buckets, and the HTTP layer waits out any limit GitHub still reports.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable
from urllib.parse import quote

from graphs.clients.http import HttpService, LimiterChain, RateLimiter, VendorError

SEARCH_PAGE = 100
SEARCH_CAP = 1000
GRAPHQL_BATCH = 100
USER_FIELDS = ("login", "name", "company", "blog", "location", "email", "hireable", "bio",
               "twitter_username", "public_repos", "followers", "following", "created_at",
               "updated_at")

PROVENANCE_FIELDS = ("email_source", "email_read_at")

_GRAPHQL_FRAGMENT = """fragment CmoUser on User {
  login name company websiteUrl location email isHireable bio twitterUsername
  repositories(privacy: PUBLIC) { totalCount } followers { totalCount } following { totalCount }
  createdAt updatedAt
}"""

ProgressFn = Callable[[int, int], Any]


def _provenance(email: Any, source: str) -> dict:
    """Where the address came from and when it was read (GDPR Art. 14; shown at review)."""
    from graphs.core import clock

    return {"email_source": source if email else "none", "email_read_at": clock.now_iso()}


def rest_user(raw: dict) -> dict:
    """The fields the project uses from a REST `/users/{login}` answer (email = the public
    profile field)."""
    return {**{name: raw.get(name) for name in USER_FIELDS},
            **_provenance(raw.get("email"), "profile")}


def graphql_user(node: dict) -> dict:
    """A GraphQL User node in the REST shape (GraphQL says "" where REST says null)."""
    def total(name: str) -> int | None:
        value = node.get(name)
        return value.get("totalCount") if isinstance(value, dict) else None

    return {
        "login": node.get("login"), "name": node.get("name"), "company": node.get("company"),
        "blog": node.get("websiteUrl") or "", "location": node.get("location"),
        "email": node.get("email") or None, "hireable": node.get("isHireable") or None,
        "bio": node.get("bio"), "twitter_username": node.get("twitterUsername"),
        "public_repos": total("repositories"), "followers": total("followers"),
        "following": total("following"), "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        **_provenance(node.get("email"), "graphql"),
    }


def build_users_query(logins: list[str]) -> tuple[str, dict]:
    """An aliased batch query; logins travel as variables, so no login can break the query."""
    params = ", ".join(f"$l{i}: String!" for i in range(len(logins)))
    fields = "\n".join(f"  u{i}: user(login: $l{i}) {{ ...CmoUser }}" for i in range(len(logins)))
    query = f"query CmoUsers({params}) {{\n{fields}\n}}\n{_GRAPHQL_FRAGMENT}"
    return query, {f"l{i}": login for i, login in enumerate(logins)}


async def _report(on_progress: ProgressFn | None, done: int, total: int) -> None:
    if on_progress is None:
        return
    result = on_progress(done, total)
    if inspect.isawaitable(result):
        await result


class GitHubClient:
    def __init__(self, http: HttpService, token: str | None, use_graphql: bool, per_hour: int,
                 concurrency: int = 8, rest_per_minute: int = 900) -> None:
        self.http = http
        self.use_graphql = bool(use_graphql and token)
        self.concurrency = max(1, concurrency)
        # GitHub's secondary limit allows about 900 REST calls a minute on top of the hourly budget.
        self.core_limiter = LimiterChain(RateLimiter(per_hour, 3600),
                                         RateLimiter(rest_per_minute, 60))
        self.graphql_limiter = RateLimiter(per_hour, 3600)
        self.search_limiter = RateLimiter(30 if token else 10, 60)
        http.headers.setdefault("Accept", "application/vnd.github+json")
        http.headers.setdefault("X-GitHub-Api-Version", "2022-11-28")
        if token:  # kept only in the HTTP headers, never in state or messages
            http.headers.setdefault("Authorization", f"Bearer {token}")

    @property
    def calls(self) -> int:
        return self.http.calls

    async def search_repositories(self, query: str, max_results: int) -> list[dict]:
        """Raw search items, most stars first, up to max_results (GitHub serves at most 1,000)."""
        wanted = min(max(0, max_results), SEARCH_CAP)
        items: list[dict] = []
        page = 1
        while len(items) < wanted:
            data, _ = await self.http.request(
                "GET", "/search/repositories", limiter=self.search_limiter,
                params={"q": query, "sort": "stars", "order": "desc",
                        "per_page": SEARCH_PAGE, "page": page})
            batch = (data or {}).get("items") or []
            items.extend(batch)
            total = (data or {}).get("total_count") or 0
            if len(batch) < SEARCH_PAGE or page * SEARCH_PAGE >= min(total, SEARCH_CAP):
                break
            page += 1
        return items[:wanted]

    async def contributors(self, full_name: str, limit: int = 100) -> list[dict]:
        """Contributors by contributions (bots included; callers filter). 204/empty -> []."""
        owner, _, repo = full_name.partition("/")
        path = f"/repos/{quote(owner, safe='')}/{quote(repo, safe='')}/contributors"
        per_page = max(1, min(100, limit))
        found: list[dict] = []
        page = 1
        while len(found) < limit:
            data, _ = await self.http.request("GET", path, limiter=self.core_limiter,
                                              params={"per_page": per_page, "page": page})
            batch = data if isinstance(data, list) else []
            found.extend(batch)
            if len(batch) < per_page:
                break
            page += 1
        return found[:limit]

    async def users(self, logins: list[str], on_progress: ProgressFn | None = None
                    ) -> tuple[list[dict], list[VendorError]]:
        """Profiles in REST shape, in input order; per-user failures are returned, not raised."""
        unique = list(dict.fromkeys(login for login in logins if login))
        if self.use_graphql:
            return await self._users_graphql(unique, on_progress)
        return await self._users_rest(unique, on_progress)

    async def _users_graphql(self, logins: list[str], on_progress: ProgressFn | None
                             ) -> tuple[list[dict], list[VendorError]]:
        users: list[dict] = []
        errors: list[VendorError] = []
        for start in range(0, len(logins), GRAPHQL_BATCH):
            batch = logins[start:start + GRAPHQL_BATCH]
            query, variables = build_users_query(batch)
            try:
                data, _ = await self.http.request("POST", "/graphql", limiter=self.graphql_limiter,
                                                  json={"query": query, "variables": variables})
            except VendorError as exc:
                errors += [VendorError(exc.service, exc.status, f"{login}: {exc.message}",
                                       retryable=exc.retryable, retry_count=exc.retry_count)
                           for login in batch]
            else:
                users_part, errors_part = self._read_graphql_batch(batch, data or {})
                users += users_part
                errors += errors_part
            await _report(on_progress, min(start + len(batch), len(logins)), len(logins))
        return users, errors

    def _read_graphql_batch(self, batch: list[str], body: dict
                            ) -> tuple[list[dict], list[VendorError]]:
        answers = body.get("data") or {}
        messages = {}
        for error in body.get("errors") or []:
            path = error.get("path") or []
            messages[path[0] if path else None] = str(error.get("message") or "GraphQL error")
        users, errors = [], []
        for index, login in enumerate(batch):
            node = answers.get(f"u{index}")
            if node:
                users.append(graphql_user(node))
                continue
            message = messages.get(f"u{index}") or messages.get(None) or "no data returned"
            not_found = f"u{index}" in messages
            errors.append(VendorError(self.http.name, 404 if not_found else None,
                                      f"{login}: {message}", retryable=not not_found))
        return users, errors

    async def _users_rest(self, logins: list[str], on_progress: ProgressFn | None
                          ) -> tuple[list[dict], list[VendorError]]:
        semaphore = asyncio.Semaphore(self.concurrency)
        results: list[dict | VendorError | None] = [None] * len(logins)
        done = 0

        async def fetch(index: int, login: str) -> None:
            nonlocal done
            async with semaphore:
                try:
                    data, _ = await self.http.request("GET", f"/users/{quote(login, safe='')}",
                                                      limiter=self.core_limiter)
                    results[index] = rest_user(data or {"login": login})
                except VendorError as exc:
                    results[index] = VendorError(exc.service, exc.status, f"{login}: {exc.message}",
                                                 retryable=exc.retryable, retry_count=exc.retry_count)
                done += 1
                await _report(on_progress, done, len(logins))

        await asyncio.gather(*(fetch(i, login) for i, login in enumerate(logins)))
        users = [item for item in results if isinstance(item, dict)]
        errors = [item for item in results if isinstance(item, VendorError)]
        return users, errors
