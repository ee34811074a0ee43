"""Async vendor clients (GitHub, Instantly, Attio, Linear) over one retrying HTTP layer."""

from graphs.clients.http import HttpService, RateLimiter, VendorError, make_http_client

__all__ = ["HttpService", "RateLimiter", "VendorError", "make_http_client"]
