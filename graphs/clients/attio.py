"""Attio API v2: upsert a person matched on email (PUT; POST would fail on a duplicate)."""

from __future__ import annotations

from graphs.clients.http import HttpService, RateLimiter


class AttioClient:
    def __init__(self, http: HttpService, api_key: str | None = None, per_minute: int = 60) -> None:
        self.http = http
        self.limiter = RateLimiter(per_minute, 60)
        if api_key:
            http.headers.setdefault("Authorization", f"Bearer {api_key}")

    async def upsert_person(self, email: str, first_name: str | None, last_name: str | None) -> dict:
        full_name = " ".join(part for part in (first_name, last_name) if part)
        data, _ = await self.http.request(
            "PUT", "/v2/objects/people/records", limiter=self.limiter,
            params={"matching_attribute": "email_addresses"},
            json={"data": {"values": {
                "email_addresses": [email],
                "name": [{"first_name": first_name or "", "last_name": last_name or "",
                          "full_name": full_name}],
            }}})
        return data or {}
