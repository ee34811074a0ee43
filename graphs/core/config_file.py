"""Saving config.yaml from an editor: validate first, write atomically, keep a backup, never
overwrite a file someone else changed since it was opened.

The editor keeps the `FileStamp` of what it loaded. A save validates the new text with
parse_config (an invalid text leaves the file byte-identical), refuses with ConfigConflict when the
file on disk no longer matches that stamp, copies the current file to `<name>.bak`, then writes a
temp file in the same directory and `os.replace`s it over the original (readers see the old file
or the new one, never half of one).
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from graphs.core.config import Config, ConfigError, parse_config
from graphs.core.config_yaml import MAX_CONFIG_BYTES, size_issue


@dataclass(frozen=True)
class FileStamp:
    """What the file was when read: None fields mean it did not exist."""

    mtime_ns: int | None
    size: int | None
    sha256: str | None

    @property
    def exists(self) -> bool:
        return self.sha256 is not None


MISSING = FileStamp(None, None, None)


class ConfigConflict(Exception):
    """The file changed on disk after it was opened; saving would overwrite someone's edit."""


@dataclass(frozen=True)
class SaveResult:
    config: Config
    stamp: FileStamp
    backup: Path | None


def backup_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".bak")


def stamp_of(path: str | os.PathLike) -> FileStamp:
    try:
        data = Path(path).read_bytes()
        info = os.stat(path)
    except FileNotFoundError:
        return MISSING
    return FileStamp(info.st_mtime_ns, info.st_size, hashlib.sha256(data).hexdigest())


def read_config_text(path: str | os.PathLike) -> tuple[str, FileStamp]:
    """The file's text and stamp; a missing file reads as the defaults (not yet written).
    A file over MAX_CONFIG_BYTES is refused (ConfigError) without being read whole."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return default_config_text(), MISSING
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(str(path), [size_issue(size)])
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return default_config_text(), MISSING
    info = os.stat(path)
    return (data.decode("utf-8", "replace"),
            FileStamp(info.st_mtime_ns, info.st_size, hashlib.sha256(data).hexdigest()))


def default_config_text() -> str:
    return yaml.safe_dump(Config().model_dump(), sort_keys=False, allow_unicode=True)


def changed_on_disk(path: str | os.PathLike, baseline: FileStamp) -> bool:
    """True when the file's content differs from `baseline` (a touch alone is no change)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return baseline.exists
    if info.st_mtime_ns == baseline.mtime_ns and info.st_size == baseline.size:
        return False
    return stamp_of(path).sha256 != baseline.sha256


def config_diff(old_text: str, new_text: str, name: str = "config.yaml") -> list[str]:
    return list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(),
                                     f"{name} (on disk)", f"{name} (edited)", lineterm=""))


def _write_atomic(path: Path, data: bytes, mode: int | None) -> None:
    from graphs.core.paths import atomic_write  # temp file beside it, fsync, rename

    atomic_write(path, data, mode=mode)


def save_config_text(path: str | os.PathLike, text: str, *,
                     expected: FileStamp | None = None) -> SaveResult:
    """Validate `text`, then replace the file atomically, keeping the old one as `<name>.bak`.

    Raises ConfigError (file untouched) when the text is invalid, ConfigConflict when
    `expected` is given and the file no longer matches it.
    """
    path = Path(path)
    config = parse_config(text, str(path))
    if expected is not None and changed_on_disk(path, expected):
        raise ConfigConflict(f"{path} was changed by someone else since it was opened")
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    mode = None
    try:
        old = path.read_bytes()
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        old = None
    if old is not None:
        from graphs.core.paths import confined

        # Beside the config, never through a path that leads elsewhere (graphs/core/paths.py).
        backup = confined(path.parent, backup_path(path).name, what="config backup")
        _write_atomic(backup, old, mode)
    _write_atomic(path, text.encode("utf-8"), mode)
    return SaveResult(config=config, stamp=stamp_of(path), backup=backup)
