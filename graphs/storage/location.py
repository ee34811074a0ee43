"""Where the database lives: a SQLite path (the embedded default) or a Postgres server URL.

A location is either a `Path` (a SQLite file) or a `str` holding a `postgresql://` URL; every
storage function takes either (`str | Path`). A URL is never turned into a Path: that used to
create a local SQLite file inside a directory named `postgresql:`.

Passwords never travel inside a URL cmo passes around (child processes' argv, logs, messages):
`resolve` moves a password given on the command line or in CMO_DATABASE_URL into PGPASSWORD
(which libpq reads, and child processes inherit) and keeps the URL without it. A URL with a
password in config.yaml is refused by the config model; `storage.password_env` names another
variable to take PGPASSWORD from. `redact` hides a password in any message.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from graphs.storage.db import DatabaseError

SERVER_SCHEMES = ("postgresql", "postgres")
ENV_URL = "CMO_DATABASE_URL"
CONNECT_TIMEOUT_S = 10
Location = str | Path


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


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + host))


def resolve(value: str | os.PathLike, *, origin: str = "--db") -> Location:
    """A storage value as a location: the URL (password moved to PGPASSWORD), or a Path."""
    text = os.fspath(value)
    if not is_server_url(text):
        return Path(text)
    parts = urlsplit(text)
    if not parts.hostname and "host=" not in parts.query:
        raise DatabaseError(f"{redact(text)} ({origin}): a Postgres URL needs a host "
                            "(postgresql://USER@HOST:PORT/DATABASE)")
    if parts.password is not None:
        from urllib.parse import unquote

        os.environ["PGPASSWORD"] = unquote(parts.password)
    return without_password(text)


def apply_password_env(name: str | None) -> None:
    """`storage.password_env`: take PGPASSWORD from the variable the config names (if set)."""
    if name and os.environ.get(name) and not os.environ.get("PGPASSWORD"):
        os.environ["PGPASSWORD"] = os.environ[name]


def is_postgres(location: Location | None) -> bool:
    return location is not None and is_server_url(location)


def exists(location: Location) -> bool:
    """Whether there is a database to read: a server is always there (connecting says if not)."""
    return is_postgres(location) or Path(location).exists()


def local_dir(location: Location) -> Path:
    """Where files that go with the database live (child run logs): beside a SQLite file, or
    `.cmo/` in the working directory for a server."""
    if is_postgres(location):
        return Path(".cmo")
    return Path(location).parent


def describe(location: Location) -> str:
    """The location for messages (a URL without its password)."""
    return redact(str(location)) if is_postgres(location) else str(location)


def check_server(url: str) -> None:
    """Connect once: an unreachable server, bad credentials or a missing database is a
    DatabaseError naming the URL without its password (the CLI exits 3 before writing anything)."""
    try:
        import psycopg
    except ImportError:
        raise DatabaseError(f"{redact(url)}: Postgres needs the 'postgres' extra "
                            "(pip install 'cmo[postgres]')") from None
    try:
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.Error as exc:
        raise DatabaseError(f"{redact(url)}: cannot connect ({connect_reason(exc)})") from None


def connect_reason(exc: BaseException) -> str:
    """libpq's reason in one line, without anything that could hold a password."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    failed = [line for line in lines if "failed:" in line]
    if failed:  # 'connection to server at "h", port 5 failed: Connection refused'
        reason = failed[0].rsplit("failed:", 1)[1].strip()
    else:
        reason = lines[-1] if lines else type(exc).__name__
    if "password" in reason.lower() and "authentication failed" in reason.lower():
        return "password authentication failed; check PGPASSWORD or storage.password_env"
    return " ".join(reason.removeprefix("FATAL:").split())


def sqlite_path(value: str | os.PathLike, *, origin: str = "--db") -> Path:
    """The SQLite file for commands that only work on a file (a server URL is refused)."""
    if is_server_url(value):
        raise DatabaseError(
            f"{redact(os.fspath(value))} ({origin}): this command works on a SQLite file; "
            "give a file path (nothing was written)")
    return Path(value)
