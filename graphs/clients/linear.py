"""Linear GraphQL: create an issue with a caller-chosen id, exactly once.

The caller derives `issue_id` (a UUID) deterministically from the lead. If Linear refuses the
create (for example "already exists" after a retry whose first answer was lost), the issue with
that id is fetched: if it exists, it is the answer; otherwise the original error stands.
"""

from __future__ import annotations

from graphs.clients.http import HttpService, VendorError

CREATE = """mutation CmoIssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { id identifier url title } }
}"""
FETCH = """query CmoIssue($id: String!) { issue(id: $id) { id identifier url title } }"""


def _graphql_message(body: dict) -> str | None:
    errors = body.get("errors") or []
    if not errors:
        return None
    first = errors[0] if isinstance(errors[0], dict) else {}
    extensions = first.get("extensions") or {}
    return str(extensions.get("userPresentableMessage") or first.get("message") or "GraphQL error")


class LinearClient:
    def __init__(self, http: HttpService, api_key: str | None = None) -> None:
        self.http = http
        if api_key:  # personal API keys go as-is, no "Bearer"
            http.headers.setdefault("Authorization", api_key)

    async def _graphql(self, query: str, variables: dict) -> dict:
        data, _ = await self.http.request("POST", "/graphql",
                                          json={"query": query, "variables": variables})
        body = data if isinstance(data, dict) else {}
        message = _graphql_message(body)
        if message and not body.get("data"):
            raise VendorError(self.http.name, 200, message, retryable=False)
        return body.get("data") or {}

    async def get_issue(self, issue_id: str) -> dict | None:
        try:
            data = await self._graphql(FETCH, {"id": issue_id})
        except VendorError as exc:
            if exc.status in (200, 400, 404):  # "Entity not found"
                return None
            raise
        return data.get("issue")

    async def create_issue(self, team_id: str, title: str, description: str, issue_id: str) -> dict:
        """-> {id, identifier, url, title, created: bool}; `created` False when it already existed."""
        payload = {"id": issue_id, "teamId": team_id, "title": title, "description": description}
        try:
            data = await self._graphql(CREATE, {"input": payload})
        except VendorError as exc:
            if exc.status == 401 or (exc.status is not None and exc.status >= 500):
                raise
            existing = await self.get_issue(issue_id)
            if existing is None:
                raise
            return {**existing, "created": False}
        result = data.get("issueCreate") or {}
        if not result.get("success") or not result.get("issue"):
            existing = await self.get_issue(issue_id)
            if existing is None:
                raise VendorError(self.http.name, 200, "issueCreate did not succeed")
            return {**existing, "created": False}
        return {**result["issue"], "created": True}
