"""Instantly, Attio and Linear as the sandbox plays them: what they accept, answer and remember."""

from __future__ import annotations

import re
import uuid

from graphs.core import clock

_NAMESPACE = uuid.UUID("6f1c1e4e-5b8a-4a57-9a43-0c3d2f1b7a10")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class VendorState:
    """Everything the three execution vendors received, inspectable by tests."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.instantly_leads: list[dict] = []            # every lead stored, in order
        self.attio_people: dict[str, dict] = {}          # lowercased email -> person record
        self.linear_issues: dict[str, dict] = {}         # issue id -> issue
        self._counter = 0

    def _uuid(self, kind: str) -> str:
        self._counter += 1
        return str(uuid.uuid5(_NAMESPACE, f"{self.seed}:{kind}:{self._counter}"))

    # -- Instantly POST /api/v2/leads/add ---------------------------------------------------------
    def instantly_add_leads(self, body: dict) -> tuple[int, dict]:
        campaign_id = body.get("campaign_id")
        leads = body.get("leads")
        if not campaign_id or not isinstance(campaign_id, str):
            return 400, {"statusCode": 400, "error": "Bad Request",
                         "message": "body must have required property 'campaign_id'"}
        if not isinstance(leads, list) or not 1 <= len(leads) <= 1000:
            return 400, {"statusCode": 400, "error": "Bad Request",
                         "message": "body/leads must NOT have fewer than 1 or more than 1000 items"}
        skip = bool(body.get("skip_if_in_campaign")) or bool(body.get("skip_if_in_workspace"))
        in_campaign = {lead["email"] for lead in self.instantly_leads
                       if lead["campaign_id"] == campaign_id or body.get("skip_if_in_workspace")}
        seen: set[str] = set()
        created, counts = [], {"skipped": 0, "invalid": 0, "duplicate": 0}
        for index, lead in enumerate(leads):
            email = str((lead or {}).get("email") or "").strip().lower()
            if not _EMAIL.match(email):
                counts["invalid"] += 1
            elif email in seen:
                counts["duplicate"] += 1
            elif skip and email in in_campaign:
                counts["skipped"] += 1
                seen.add(email)
            else:
                seen.add(email)
                record = {**lead, "id": self._uuid("lead"), "email": email,
                          "campaign_id": campaign_id, "created_at": clock.now_iso()}
                self.instantly_leads.append(record)
                created.append({"id": record["id"], "email": email, "index": index})
        return 200, {
            "status": "success", "total_sent": len(leads), "leads_uploaded": len(created),
            "in_blocklist": 0, "blocklist_used": None, "already_in_campaign": counts["skipped"],
            "skipped_count": counts["skipped"], "invalid_email_count": counts["invalid"],
            "duplicate_email_count": counts["duplicate"], "remaining_in_plan": 100_000,
            "created_leads": created,
        }

    # -- Attio PUT/POST /v2/objects/people/records ------------------------------------------------
    def attio_people_records(self, method: str, params: dict, body: dict) -> tuple[int, dict]:
        values = ((body or {}).get("data") or {}).get("values") or {}
        emails = values.get("email_addresses") or []
        email = emails[0] if emails else None
        if isinstance(email, dict):
            email = email.get("email_address")
        if not isinstance(email, str) or not _EMAIL.match(email.strip()):
            return 400, {"status_code": 400, "type": "invalid_request_error",
                         "code": "validation_type", "message": "email_addresses must hold a valid email"}
        key = email.strip().lower()
        if method == "PUT" and params.get("matching_attribute") != "email_addresses":
            return 400, {"status_code": 400, "type": "invalid_request_error",
                         "code": "missing_value", "message": "matching_attribute is required"}
        existing = self.attio_people.get(key)
        if existing is not None and method == "POST":
            return 400, {"status_code": 400, "type": "invalid_request_error",
                         "code": "uniqueness_conflict",
                         "message": "A record with this email_addresses value already exists"}
        name = (values.get("name") or [{}])[0] or {}
        if existing is None:
            existing = {"record_id": self._uuid("person"), "created_at": clock.now_iso(),
                        "email": key, "writes": 0}
            self.attio_people[key] = existing
        existing.update(first_name=name.get("first_name"), last_name=name.get("last_name"),
                        full_name=name.get("full_name"), writes=existing["writes"] + 1)
        return 200, {"data": {
            "id": {"workspace_id": "sandbox-workspace", "object_id": "people",
                   "record_id": existing["record_id"]},
            "created_at": existing["created_at"],
            "web_url": f"https://app.attio.com/sandbox/person/{existing['record_id']}",
            "values": {"email_addresses": [{"email_address": key}],
                       "name": [{"first_name": existing["first_name"],
                                 "last_name": existing["last_name"],
                                 "full_name": existing["full_name"]}]},
        }}

    # -- Linear POST /graphql ---------------------------------------------------------------------
    def linear_graphql(self, query: str, variables: dict | None) -> tuple[int, dict]:
        variables = variables or {}
        if "issueCreate" in query:
            return self._linear_create(variables.get("input") or {})
        if re.search(r"\bissue\s*\(", query):
            issue_id = variables.get("id")
            issue = self.linear_issues.get(str(issue_id))
            if issue is None:
                return 200, {"data": None, "errors": [_linear_error("Entity not found: Issue",
                                                                    "Could not find referenced Issue.")]}
            return 200, {"data": {"issue": _public(issue)}}
        return 400, {"errors": [_linear_error("Sandbox Linear answers issueCreate and issue(id:)",
                                              "Unsupported operation")]}

    def _linear_create(self, data: dict) -> tuple[int, dict]:
        if not data.get("teamId") or not data.get("title"):
            return 400, {"errors": [_linear_error("Argument Validation Error",
                                                  "teamId and title are required")]}
        issue_id = str(data.get("id") or self._uuid("issue"))
        try:
            uuid.UUID(issue_id)
        except ValueError:
            return 400, {"errors": [_linear_error("Argument Validation Error", "id must be a UUID")]}
        if issue_id in self.linear_issues:
            # Linear refuses a client-chosen id that exists; callers treat that as "already done".
            return 400, {"data": None, "errors": [_linear_error(
                "Entity already exists", "An issue with this id already exists.")]}
        number = len(self.linear_issues) + 1
        self.linear_issues[issue_id] = {
            "id": issue_id, "identifier": f"CMO-{number}", "title": data["title"],
            "description": data.get("description"), "teamId": data["teamId"],
            "url": f"https://linear.app/sandbox/issue/CMO-{number}", "createdAt": clock.now_iso(),
        }
        return 200, {"data": {"issueCreate": {"success": True,
                                              "issue": _public(self.linear_issues[issue_id])}}}


def _public(issue: dict) -> dict:
    return {key: issue[key] for key in ("id", "identifier", "url", "title")}


def _linear_error(message: str, user_message: str) -> dict:
    return {"message": message, "extensions": {"type": "invalid input", "code": "INVALID_INPUT",
                                               "userPresentableMessage": user_message}}
