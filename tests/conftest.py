"""Shared fixtures. Each area keeps its fixtures in tests/fixtures/<area>.py; every module there
is loaded as a pytest plugin, so areas add fixtures without editing this file."""

from __future__ import annotations

from pathlib import Path

pytest_plugins = sorted(
    f"fixtures.{path.stem}" for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__")
