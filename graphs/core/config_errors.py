"""Config errors without pydantic: the CLI catches them without paying for the model's import."""

from __future__ import annotations

from dataclasses import dataclass


# A file with 50,000 unknown keys is one mistake repeated, not 50,000 lines to read.
MAX_SHOWN = 50


@dataclass(frozen=True)
class ConfigIssue:
    path: str          # dotted key path, "" for the whole file
    line: int | None   # 1-based line in the file, when known
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        key = f"{self.path}: " if self.path else ""
        # One line per problem: a message with line breaks would read as several problems.
        return f"{where}{key}{' '.join(str(self.message).split())}"


class ConfigError(Exception):
    """The file was refused as a whole; `issues` says what and where."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        # In file order (the validator reports them in model order); no line last.
        self.issues = sorted(issues, key=lambda issue: (issue.line is None, issue.line or 0))
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.source}: invalid configuration ({len(self.issues)} problem"
                 f"{'s' if len(self.issues) != 1 else ''})"]
        lines += [f"  {issue}" for issue in self.issues[:MAX_SHOWN]]
        if len(self.issues) > MAX_SHOWN:
            lines.append(f"  ... and {len(self.issues) - MAX_SHOWN:,} more (fix these first)")
        return "\n".join(lines)
