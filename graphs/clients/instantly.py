"""Instantly API v2: add leads to a campaign. Exactly-once is the caller's job (the send ledger);
`skip_if_in_campaign` is Instantly's only de-duplication and is always on."""

from __future__ import annotations

from graphs.clients.http import HttpService

MAX_LEADS_PER_CALL = 1000


class InstantlyClient:
    def __init__(self, http: HttpService, api_key: str | None = None) -> None:
        self.http = http
        if api_key:
            http.headers.setdefault("Authorization", f"Bearer {api_key}")

    async def add_leads(self, campaign_id: str, leads: list[dict]) -> dict:
        """POST /api/v2/leads/add with 1..1000 leads; returns Instantly's answer (counts, created_leads)."""
        if not campaign_id:
            raise ValueError("campaign_id is required")
        if not 1 <= len(leads) <= MAX_LEADS_PER_CALL:
            raise ValueError(f"Instantly takes 1 to {MAX_LEADS_PER_CALL} leads a call (got {len(leads)})")
        data, _ = await self.http.request("POST", "/api/v2/leads/add", json={
            "campaign_id": campaign_id, "leads": leads, "skip_if_in_campaign": True})
        return data or {}
