"""The embedded deterministic sandbox: generated GitHub data plus one handler for all four vendors."""

from graphs.sandbox.data import HOSTILE_STRINGS, SandboxData
from graphs.sandbox.handler import Fault, Sandbox

__all__ = ["HOSTILE_STRINGS", "Fault", "Sandbox", "SandboxData"]
