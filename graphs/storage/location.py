"""Where the database lives: a SQLite path (the embedded default) or a server URL.

Teams will point cmo at Postgres (issue 12). Until every cmo table has a Postgres backend, a
`postgresql://` value is refused with a clear error instead of being taken as a file path (it
used to create a local SQLite file inside a directory named `postgresql:`). Passwords never
belong in a URL that sits in config.yaml or in an error message: `redact` hides them.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from graphs.storage.db import DatabaseError

SERVER_SCHEMES = ("postgresql", "postgres")


def is_server_url(value: str | os.PathLike) -> bool:
    text = os.fspath(value)
    return "://" in text and text.split("://", 1)[0].lower() in SERVER_SCHEMES


def redact(url: str) -> str:
    """The URL without its password (`postgresql://cmo:***@host/db`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def has_password(url: str) -> bool:
    return is_server_url(url) and urlsplit(url).password is not None


def sqlite_path(value: str | os.PathLike, *, origin: str = "--db") -> Path:
    """The SQLite file for a storage value; a server URL is refused (exit code 3 in the CLI)."""
    if is_server_url(value):
        raise DatabaseError(
            f"{redact(os.fspath(value))} ({origin}): Postgres storage is not available in this "
            "version of cmo yet; give a SQLite file path (nothing was written)")
    return Path(value)
