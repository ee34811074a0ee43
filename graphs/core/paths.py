"""Every file cmo writes from data goes through here: built under its root, never outside it.

A thread id (or any other value that came from an operator, a database or a server) becomes a
path segment only through `confined(root, *segments)`: each segment must be one plain name (no
separator, not `.`/`..`, no NUL), and the resolved path (symlinks followed, also for parts that
already exist) must stay under the resolved root. `atomic_write` replaces a file through a temp
file in the same directory (readers see the old or the new file, never half of one; `os.replace`
replaces a symlink itself instead of writing through it); `open_append` refuses to follow a
symlink at the leaf.

Which files: `<outbox_dir>/<thread>/outbox.jsonl` and `leads.csv` (graphs/cmo/execute.py), the
console's child logs `<db dir>/logs/<thread>.log` (graphs/core/launch.py), the config's `.bak`
and temp files (graphs/core/config_file.py), `cmo suppress export --output` (console/cli_suppress.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from graphs.storage.registry import RunRefused


class PathRefused(RunRefused, ValueError):
    """A path that would land outside its root (or a segment that is not one plain name)."""


def _segment_problem(segment: str) -> str | None:
    if not segment:
        return "an empty name"
    if segment in (".", ".."):
        return f"{segment!r}"
    if "\x00" in segment:
        return "a NUL character"
    if "/" in segment or (os.altsep and os.altsep in segment) or os.sep in segment:
        return "a path separator"
    return None


def confined(root: str | os.PathLike, *segments: str, what: str = "file") -> Path:
    """`root/segment/...`, refused (PathRefused) unless it resolves under `root`."""
    from graphs.core.text import clean_text

    base = Path(root)
    for segment in segments:
        problem = _segment_problem(segment)
        if problem is not None:
            raise PathRefused(f"{what}: {clean_text(segment, 60)!r} is not a plain file name "
                              f"({problem}); nothing written")
    candidate = base.joinpath(*segments)
    real_root = base.resolve()
    real = candidate.resolve()
    if real != real_root and real_root not in real.parents:
        raise PathRefused(f"{what}: {clean_text(str(candidate), 200)} resolves to "
                          f"{clean_text(str(real), 200)}, outside {real_root}; nothing written")
    return candidate


def ensure_dir(path: Path, root: str | os.PathLike, what: str = "folder") -> Path:
    """mkdir -p `path` (already confined under `root`), then check again: a directory created by
    someone else between the check and the mkdir (a symlink swapped in) is refused."""
    path.mkdir(parents=True, exist_ok=True)
    real_root, real = Path(root).resolve(), path.resolve()
    if real != real_root and real_root not in real.parents:
        raise PathRefused(f"{what}: {path} resolves to {real}, outside {real_root}; nothing written")
    return path


def atomic_write(path: Path, data: str | bytes, *, root: str | os.PathLike | None = None,
                 mode: int | None = None, fsync: bool = True) -> None:
    """Replace `path` with `data` through a temp file beside it (temp + fsync + rename).

    `root`: the folder the file must stay under (default: its own parent)."""
    ensure_dir(path.parent, root if root is not None else path.parent)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def open_append(path: Path) -> BinaryIO:
    """Open for appending (created 0600), never through a symlink at the leaf."""
    ensure_dir(path.parent, path.parent)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if Path(path).is_symlink():
            raise PathRefused(f"{path} is a symlink; refusing to write through it") from None
        raise exc
    return os.fdopen(fd, "ab")
