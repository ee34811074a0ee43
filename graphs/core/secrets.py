"""Secrets never reach state, the ledger, the registry, logs or a screen: one redaction rule.

`redact(text, secrets)` first strips control characters (graphs/core/text.py `clean_text`, and
zero-width characters), THEN hides the secrets. The order matters: a vendor error that echoes a
key with an escape sequence spliced into it (`inst_\\x1b[0msecret_key_123`) only becomes the key
once the escape is gone, so redacting first would miss it and stripping afterwards would hand the
whole key to the ledger. Partial echoes are hidden too: every run of at least `MIN_ECHO`
characters that also occurs in a secret becomes `***` (a vendor printing the first or last part
of a key, or the key cut by a length limit).

The secrets of this process (the credentials the clients were built with, read from the
environment variables named in config) are remembered by `remember`; `scrub(text)` redacts those.
"""

from __future__ import annotations

import re
import threading
from typing import Iterable

from graphs.core.text import clean_text

MASK = "***"
MIN_ECHO = 6          # the shortest run of a secret's characters treated as an echo of it
MIN_SECRET = 4        # shorter values cannot be told apart from ordinary text
# Headers whose values are credentials (any other header, e.g. Accept, is not a secret).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key",
                            "x-auth-token", "cookie"})
_AUTH_SCHEMES = re.compile(r"^(?:bearer|token|basic|bot)\s+", re.IGNORECASE)
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")

# The sandbox's stand-in credential is public (it is in the source): never treated as a secret,
# or every message mentioning the sandbox would be masked.
SANDBOX_KEY = "sandbox-key"
NOT_SECRETS = frozenset({SANDBOX_KEY})

_known: set[str] = set()
_lock = threading.Lock()


def header_secrets(headers: dict[str, str]) -> list[str]:
    """The credential values in a set of request headers (without their `Bearer ` scheme)."""
    found = []
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS and value:
            # `Bearer <key>`: the key is the secret (the scheme and its space are not).
            found.append(_AUTH_SCHEMES.sub("", value))
    return [value for value in found if value not in NOT_SECRETS]


def remember(value: str | None) -> str | None:
    """Note a secret this process holds, so `scrub` hides it anywhere; returns it unchanged."""
    if value and len(value) >= MIN_SECRET and value not in NOT_SECRETS:
        with _lock:
            _known.add(value)
    return value


def known() -> list[str]:
    with _lock:
        return sorted(_known)


def _mask_spans(text: str, secret: str) -> list[tuple[int, int]]:
    size = min(MIN_ECHO, len(secret))
    pieces = {secret[i:i + size] for i in range(len(secret) - size + 1)}
    spans: list[tuple[int, int]] = []
    for start in range(len(text) - size + 1):
        if text[start:start + size] in pieces:
            end = start + size
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """`text` with control characters stripped first, then every (partial) echo of a secret masked."""
    cleaned = _INVISIBLE.sub("", clean_text(text))
    values = [s for s in set(secrets) if s and len(s) >= MIN_SECRET and s not in NOT_SECRETS]
    if not values:
        return cleaned
    spans: list[tuple[int, int]] = []
    for secret in values:
        spans.extend(_mask_spans(cleaned, secret))
    if not spans:
        return cleaned
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out, position = [], 0
    for start, end in merged:
        out.append(cleaned[position:start])
        out.append(MASK)
        position = end
    out.append(cleaned[position:])
    return "".join(out)


def scrub(text: object) -> str:
    """`redact` with every secret this process remembered."""
    return redact(text, known())
