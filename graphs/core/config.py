"""config.yaml: a typed model, loaded whole or refused whole with key paths and line numbers."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, Mapping

import reprlib

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graphs.core.config_errors import ConfigError, ConfigIssue  # noqa: F401  (re-exported)
from graphs.core.config_yaml import load_yaml, read_config_file
from graphs.storage.db import DEFAULT_DB

DEFAULT_CONFIG_PATH = Path("config.yaml")


class _Section(BaseModel):
    # Unknown keys are operator typos: refuse them instead of silently ignoring.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StorageConfig(_Section):
    db: str = DEFAULT_DB
    # A Postgres server for a team (postgresql://USER@HOST:PORT/DATABASE); wins over `db`.
    url: str | None = None
    # The environment variable holding the server's password (else libpq's PGPASSWORD).
    password_env: str | None = None

    @field_validator("db", "url")
    @classmethod
    def _no_password_in_file(cls, value: str | None) -> str | None:
        from graphs.storage.location import has_password

        if value is not None and has_password(value):
            raise ValueError("a database password does not belong in config.yaml: remove it from "
                             "the URL and set PGPASSWORD (or the variable storage.password_env "
                             "names) in the environment")
        from graphs.storage.location import is_server_url

        if value is not None and not is_server_url(value) and os.path.isdir(value):
            raise ValueError(f"{value} is a directory: name the SQLite file itself "
                             f"(e.g. {os.path.join(value, 'cmo.sqlite')})")
        return value

    @field_validator("url")
    @classmethod
    def _server_url(cls, value: str | None) -> str | None:
        from graphs.storage.location import is_server_url

        if value is not None and not is_server_url(value):
            raise ValueError("must be a postgresql:// URL (a SQLite file goes in storage.db)")
        return value

    @property
    def location(self) -> str:
        """Where the database is: storage.url when set, else the storage.db file."""
        return self.url or self.db


_STARS = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")


class IcpConfig(_Section):
    keywords: list[str] = ["testing", "ci", "devtools"]
    languages: list[str] = ["python", "javascript"]
    stars_range: str = "100..2000"
    activity_days: int = Field(90, gt=0)
    topics: list[str] = ["ci", "testing", "pytest"]

    @field_validator("stars_range")
    @classmethod
    def _stars(cls, value: str) -> str:
        match = _STARS.match(value)
        if not match:
            raise ValueError('must look like "LOW..HIGH", for example "100..2000"')
        low, high = int(match.group(1)), int(match.group(2))
        if low > high:
            raise ValueError(f"LOW must not exceed HIGH (got {low}..{high})")
        return f"{low}..{high}"

    @property
    def stars(self) -> tuple[int, int]:
        low, high = self.stars_range.split("..")
        return int(low), int(high)


class LimitsConfig(_Section):
    max_steps: int = Field(40, gt=0)
    max_repos: int = Field(600, gt=0)
    max_people: int = Field(3000, gt=0)
    per_inbox_daily: int = Field(50, ge=0)


class RateLimitsConfig(_Section):
    github_per_hour: int = Field(5000, gt=0)
    github_rest_per_minute: int = Field(900, gt=0)
    instantly_per_inbox_daily: int = Field(50, ge=0)
    attio_per_minute: int = Field(60, gt=0)


class TimeoutsConfig(_Section):
    github_api: float = Field(15, gt=0)
    instantly_api: float = Field(30, gt=0)
    attio_api: float = Field(20, gt=0)
    linear_api: float = Field(20, gt=0)
    llm_api: float = Field(60, gt=0)
    store_api: float = Field(20, gt=0)


class GitHubConfig(_Section):
    mode: Literal["auto", "sandbox", "live"] = "auto"
    base_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    graphql: Literal["auto", "off"] = "auto"


class LlmConfig(_Section):
    provider: Literal["template", "openai"] = "template"
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = Field(0.2, ge=0, le=2)


class PersonalizeConfig(_Section):
    sender: str = "The cmo team"
    sequence_id: str = "seq-default"
    subject: str = "{first_name}, a faster feedback loop for {repo}"
    body: str = (
        "Hi {first_name},\n\nI noticed your work on {repo}. Teams shipping {language} projects of "
        "that size\noften lose hours to slow CI; we built a tool that cuts that feedback loop down.\n\n"
        "Would a 15-minute look be useful?\n\n{sender}\n"
    )
    campaign_copy: str = ""


class InstantlyConfig(_Section):
    base_url: str = "https://api.instantly.ai"
    api_key_env: str = "INSTANTLY_API_KEY"
    campaign_id: str = ""


class AttioConfig(_Section):
    base_url: str = "https://api.attio.com"
    api_key_env: str = "ATTIO_API_KEY"


class LinearConfig(_Section):
    base_url: str = "https://api.linear.app"
    api_key_env: str = "LINEAR_API_KEY"
    team_id: str = ""
    min_icp_score: int = Field(80, ge=0, le=100)


class ExecutionConfig(_Section):
    mode: Literal["dry_run", "live"] = "dry_run"
    outbox_dir: str = ".cmo/outbox"
    instantly: InstantlyConfig = InstantlyConfig()
    attio: AttioConfig = AttioConfig()
    linear: LinearConfig = LinearConfig()


class ComplianceConfig(_Section):
    """What cold email must carry and where addresses may come from (CAN-SPAM, GDPR Art. 14).

    Templates name `{unsubscribe}` and `{postal_address}`; drafts render them from here, so the
    review preview shows the footer exactly as it is sent, and the gates check the sent text."""

    postal_address: str = ""
    require_postal_address: bool = False
    unsubscribe_text: str = 'Not interested? Reply "unsubscribe" and you will not hear from us again.'
    require_unsubscribe: bool = False
    # profile = the public `email` field of GET /users/{login}; graphql = GraphQL `user { email }`
    allowed_sources: list[Literal["profile", "graphql"]] = ["profile", "graphql"]
    role_addresses: Literal["warn", "block"] = "warn"   # info@, sales@, support@ ...


class MarketingConfig(_Section):
    max_turns: int = Field(12, gt=0)
    context_messages: int = Field(20, gt=0)
    context_tokens: int = Field(6000, gt=0)
    max_tool_calls: int = Field(4, ge=0)


class StoreConfig(_Section):
    url: str = ""
    token_env: str = "POCKETBASE_TOKEN"


class SandboxConfig(_Section):
    seed: int = 7
    latency_ms: int = Field(0, ge=0)


class ServerConfig(_Section):
    """A LangGraph Server to attach the console and CLI to (empty url: the local database)."""

    url: str = ""
    api_key_env: str = "LANGGRAPH_API_KEY"   # the variable holding its API key, if it needs one

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class Config(_Section):
    storage: StorageConfig = StorageConfig()
    icp: IcpConfig = IcpConfig()
    limits: LimitsConfig = LimitsConfig()
    rate_limits: RateLimitsConfig = RateLimitsConfig()
    timeouts: TimeoutsConfig = TimeoutsConfig()
    github: GitHubConfig = GitHubConfig()
    llm: LlmConfig = LlmConfig()
    personalize: PersonalizeConfig = PersonalizeConfig()
    execution: ExecutionConfig = ExecutionConfig()
    compliance: ComplianceConfig = ComplianceConfig()
    marketing: MarketingConfig = MarketingConfig()
    store: StoreConfig = StoreConfig()
    sandbox: SandboxConfig = SandboxConfig()
    server: ServerConfig = ServerConfig()

    # Where the file came from; relative paths (db, outbox) resolve against the working directory.
    source: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _live_needs_targets(self) -> "Config":
        if self.execution.mode == "live":
            if not self.execution.instantly.campaign_id:
                raise _KeyedError(("execution", "instantly", "campaign_id"),
                                  "live execution needs an Instantly campaign_id")
            if not self.execution.linear.team_id:
                raise _KeyedError(("execution", "linear", "team_id"),
                                  "live execution needs a Linear team_id")
            problem = self.live_compliance_problem()
            if problem is not None:
                raise _KeyedError(*problem)
        return self

    def live_compliance_problem(self) -> tuple[tuple[str, ...], str] | None:
        """(key path, why) for the first unmet compliance requirement, or None."""
        rules = self.compliance
        uses_template = not self.personalize.campaign_copy  # campaign copy is gated per draft
        if rules.require_unsubscribe:
            if not rules.unsubscribe_text.strip():
                return (("compliance", "unsubscribe_text"),
                        "require_unsubscribe is on but the unsubscribe text is empty")
            if uses_template and "{unsubscribe}" not in self.personalize.body:
                return (("personalize", "body"),
                        "require_unsubscribe is on: the body must contain {unsubscribe}")
        if rules.require_postal_address:
            if not rules.postal_address.strip():
                return (("compliance", "postal_address"),
                        "require_postal_address is on but no postal address is set")
            if uses_template and "{postal_address}" not in self.personalize.body:
                return (("personalize", "body"),
                        "require_postal_address is on: the body must contain {postal_address}")
        return None

    # -- derived -----------------------------------------------------------------------------
    def github_token(self, env: Mapping[str, str] | None = None) -> str | None:
        return (env if env is not None else os.environ).get(self.github.token_env) or None

    def github_is_sandbox(self, env: Mapping[str, str] | None = None) -> bool:
        if self.github.mode == "sandbox":
            return True
        if self.github.mode == "live":
            return False
        return self.github_token(env) is None

    def missing_live_secrets(self, env: Mapping[str, str] | None = None) -> list[str]:
        """Environment variables live execution needs but that are unset."""
        env = env if env is not None else os.environ
        if self.execution.mode != "live":
            return []
        names = [self.execution.instantly.api_key_env, self.execution.attio.api_key_env,
                 self.execution.linear.api_key_env]
        if self.github.mode == "live":
            names.append(self.github.token_env)
        if self.llm.provider == "openai" and "localhost" not in self.llm.base_url \
                and "127.0.0.1" not in self.llm.base_url:
            names.append(self.llm.api_key_env)
        return [name for name in names if not env.get(name)]

    def runtime_settings(self) -> dict[str, Any]:
        """The part of the config a run keeps in its state (the seed's `config` field)."""
        return {
            **self.limits.model_dump(),
            "activity_days": self.icp.activity_days,
            "rate_limits": self.rate_limits.model_dump(),
            "timeouts": self.timeouts.model_dump(),
        }

    def summary(self) -> str:
        github = "sandbox" if self.github_is_sandbox() else "live GitHub"
        return (f"valid: {github}, llm {self.llm.provider}, execution {self.execution.mode}, "
                f"db {self.storage.location}, max_repos {self.limits.max_repos}, "
                f"max_people {self.limits.max_people}")


class _KeyedError(ValueError):
    """A model-level error that knows which key it is about."""

    def __init__(self, path: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def _nearest_line(lines: dict, path: tuple) -> int | None:
    while path:
        for candidate in (path, tuple(p if isinstance(p, int) else str(p) for p in path)):
            if candidate in lines:
                return lines[candidate]
        path = path[:-1]
    return None


def parse_config(text: str, source: str = "<config>") -> Config:
    """Validate YAML text into a Config or raise ConfigError. Never partially applies."""
    data, lines = load_yaml(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigIssue("", 1, "the top level must be a mapping of sections")])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            path = tuple(p for p in err["loc"])
            ctx_error = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_error, _KeyedError):
                path = ctx_error.path
            message = _friendly(err)
            issues.append(ConfigIssue(".".join(str(p) for p in path),
                                      _nearest_line(lines, path), message))
        raise ConfigError(source, issues) from None
    config.source = source
    return config


# An error quotes the offending input briefly: a 1 MB string or a 10,000-item list would
# otherwise become the message.
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = _REPR.maxset = 4
_REPR.maxlevel = 2


def _short_repr(value: Any) -> str:
    return _REPR.repr(value)


def _friendly(err: dict) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return f"must be one of {err['ctx']['expected']} (got {_short_repr(err.get('input'))})"
    message = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    if kind.endswith("_type") or kind.endswith("_parsing"):
        message += f" (got {_short_repr(err.get('input'))})"
    return message


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load a config file; a missing default file means the embedded defaults."""
    if path is None:
        path = DEFAULT_CONFIG_PATH
        if not Path(path).exists():
            return Config()
    return parse_config(read_config_file(path), str(path))
