"""RunState of the CMO outbound graph, its job metadata, defaults and the seed's helpers.

Reducers, chosen per field (a reducer decides how a node's returned value meets the old one):

* `repos`, `candidates`, `leads`, `to_send`, `reports`, `config`: **replace** (last write wins).
  Each is produced wholesale by exactly one batched node. Replacing makes a node re-run (retry,
  resume, fork from an older checkpoint) idempotent; an appending reducer would double the list
  every time a node ran again.
* `errors`, `history`: **append** (`operator.add`). They are logs of events; a node returns only
  its new entries, and a node that really ran twice really produced two entries. Nodes commit
  their update only when they finish, so an interrupted node never appends twice.
* `checkpoints` (artifact paths): **append unique**. Re-running `execute` rewrites the same
  outbox/CSV files; listing them twice would be noise.
* `counters`: **sum per key**. Nodes return deltas (`{"steps": 1, "api_calls": 12}`), so no node
  has to read-modify-write a counter and two writers in one step could never lose an increment.

Every helper returns a *partial update* for these reducers, never a whole new state; use
`apply_update(state, update)` to see the state the graph would hold afterwards.
"""

from __future__ import annotations

import copy
import operator
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any, Dict, List, Mapping, TypedDict

from graphs.core import clock
from graphs.core.secrets import scrub
from graphs.core.specs import CMO

STATE_VERSION = 2  # 1 = the seed's shape (no draft ids, no sendable flags, no per-service counters)

# The names `current_stage` takes (the seed's nouns), from the one stage vocabulary in the spec.
STAGES = (*CMO.before_stages, *(stage.recorded_as[0] for stage in CMO.stages),
          *CMO.finished_stages)

DEFAULT_CONFIG: Dict[str, Any] = {
    "max_steps": 40,
    "max_repos": 600,
    "max_people": 3000,
    "per_inbox_daily": 50,
    "activity_days": 90,
    "rate_limits": {
        "github_per_hour": 5000,
        "github_rest_per_minute": 900,  # not in the seed: GitHub's secondary REST limit
        "instantly_per_inbox_daily": 50,
        "attio_per_minute": 60,
    },
    "timeouts": {
        "github_api": 15,
        "instantly_api": 30,
        "attio_api": 20,
    },
}

COUNTER_KEYS = ("steps", "api_calls", "github_api_calls", "instantly_api_calls", "attio_api_calls",
                "linear_api_calls", "llm_api_calls", "tokens_used", "emails_sent",
                "leads_enriched", "errors")


def sum_counters(left: Mapping[str, int] | None, right: Mapping[str, int] | None) -> Dict[str, int]:
    """Reducer for `counters`: key-wise sum of the old values and a node's deltas."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        merged[key] = merged.get(key, 0) + value
    return merged


def append_unique(left: List[str] | None, right: List[str] | None) -> List[str]:
    """Reducer for `checkpoints`: append, keeping the first occurrence of each path."""
    merged = list(left or [])
    for item in right or []:
        if item not in merged:
            merged.append(item)
    return merged


class RunState(TypedDict, total=False):
    """Typed state of the CMO workflow (the seed's fields plus a schema version and sandbox flag)."""

    # Job metadata
    job_id: str
    goal: str
    created_at: str
    created_by: str
    schema_version: int
    sandbox: bool

    # ICP criteria
    icp: Dict[str, Any]

    # Discovery
    repos: List[Dict[str, Any]]
    candidates: List[Dict[str, Any]]

    # Enrichment
    leads: List[Dict[str, Any]]

    # Personalization (drafts; approval decisions are written into each draft's `approval`)
    to_send: List[Dict[str, Any]]

    # Execution reports
    reports: Dict[str, Any]

    # Error handling
    errors: Annotated[List[Dict[str, Any]], operator.add]

    # Monitoring
    counters: Annotated[Dict[str, int], sum_counters]
    checkpoints: Annotated[List[str], append_unique]

    # Configuration (runtime limits; `update_runtime_config` changes them mid-run)
    config: Dict[str, Any]

    # Control flow
    ended: bool
    current_stage: str
    history: Annotated[List[Dict[str, Any]], operator.add]


def _concat(left: List[Any] | None, right: List[Any] | None) -> List[Any]:
    return list(left or []) + list(right or [])


_REDUCERS = {"errors": _concat, "history": _concat,
             "counters": sum_counters, "checkpoints": append_unique}


def apply_update(state: Mapping[str, Any], update: Mapping[str, Any]) -> Dict[str, Any]:
    """The state after `update`, computed with the same reducers as the graph (pure)."""
    result = dict(state)
    for key, value in update.items():
        reducer = _REDUCERS.get(key)
        result[key] = reducer(result.get(key), value) if reducer else value
    return result


def new_job_id() -> str:
    """`cmo-YYYYMMDD-HHMMSS-xxxxxx`: sortable by time, and the random suffix keeps two jobs
    started in the same second apart (4 bytes: 200 jobs in one second collide about once in
    40 million, where 3 bytes collided about once in 800). The job id is also the thread id."""
    return f"cmo-{clock.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"


@dataclass
class JobMetadata:
    goal: str
    created_by: str = "cli"
    job_id: str = field(default_factory=new_job_id)
    created_at: str = field(default_factory=clock.now_iso)


def history_entry(stage: str, action: str, result: str,
                  metrics: Mapping[str, Any] | None = None) -> Dict[str, Any]:
    entry: Dict[str, Any] = {"timestamp": clock.now_iso(), "stage": stage, "action": action,
                             "result": result}
    if metrics:
        entry["metrics"] = dict(metrics)
    return entry


def error_entry(stage: str, tool: str, payload: Mapping[str, Any] | None, error: BaseException | str,
                retry_count: int = 0) -> Dict[str, Any]:
    """One structured error. `retry_count` defaults to the VendorError's own count when present."""
    retries = getattr(error, "retry_count", None)
    return {
        "stage": stage,
        "tool": tool,
        "payload": dict(payload or {}),
        # Every error text is scrubbed of this process's secrets (graphs/core/secrets.py).
        "error": scrub(str(error)) or type(error).__name__,
        "timestamp": clock.now_iso(),
        "retry_count": int(retries if isinstance(retries, int) else retry_count),
    }


def record_error(state: Mapping[str, Any], error: BaseException | str, tool: str,
                 payload: Mapping[str, Any] | None = None, retry_count: int = 0) -> Dict[str, Any]:
    """The seed's handle_tool_error as a partial update: one error entry and `counters.errors`+1."""
    entry = error_entry(state.get("current_stage", "unknown"), tool, payload, error, retry_count)
    return {"errors": [entry], "counters": {"errors": 1}}


def update_runtime_config(state: Mapping[str, Any], new_config: Mapping[str, Any]) -> Dict[str, Any]:
    """Merge `new_config` into the run's config (nested dicts merged one level deep) and log it."""
    current = copy.deepcopy(dict(state.get("config") or {}))
    for key, value in new_config.items():
        if isinstance(value, Mapping) and isinstance(current.get(key), Mapping):
            current[key] = {**current[key], **value}
        else:
            current[key] = copy.deepcopy(value)
    keys = ", ".join(sorted(new_config))
    entry = history_entry(state.get("current_stage", "configuration"), "update_config",
                          f"Updated {len(new_config)} config parameters ({keys})")
    return {"config": current, "history": [entry]}


def run_config(state: Mapping[str, Any]) -> Dict[str, Any]:
    """The run's effective limits: DEFAULT_CONFIG overlaid with the state's `config`."""
    merged = copy.deepcopy(DEFAULT_CONFIG)
    for key, value in (state.get("config") or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def get_progress_summary(state: Mapping[str, Any]) -> Dict[str, Any]:
    """The seed's progress summary, for monitoring."""
    counters = state.get("counters") or {}
    return {
        "job_id": state.get("job_id"),
        "stage": state.get("current_stage"),
        "progress": {
            "repos_found": len(state.get("repos") or []),
            "candidates_identified": len(state.get("candidates") or []),
            "leads_enriched": len(state.get("leads") or []),
            "emails_prepared": len(state.get("to_send") or []),
        },
        "metrics": {
            "api_calls": counters.get("api_calls", 0),
            "steps_completed": counters.get("steps", 0),
            "errors_encountered": len(state.get("errors") or []),
            "tokens_used": counters.get("tokens_used", 0),
        },
        "status": "completed" if state.get("ended") else "running",
    }


def is_approved(draft: Mapping[str, Any]) -> bool:
    return ((draft.get("approval") or {}).get("decision")) in ("accept", "edit")


def migrate_state(values: Mapping[str, Any]) -> Dict[str, Any]:
    """Bring a checkpoint written by an older version (v1 = the seed's shape) up to STATE_VERSION.

    Pure and idempotent: fills missing fields with defaults, gives drafts a stable `draft_id`
    and a `sendable` flag, gives leads `sendable`/`unsendable_reason`, completes error entries
    and counters. Nodes call it on their input, so resuming an old thread works.
    """
    from graphs.cmo.scoring import email_problem  # local: scoring imports nothing from here
    from graphs.cmo.drafts import draft_id_for

    state = copy.deepcopy(dict(values))
    if state.get("schema_version", 1) >= STATE_VERSION and "to_send" in state and "counters" in state:
        return state
    defaults: Dict[str, Any] = {
        "goal": "", "created_by": "unknown", "icp": {}, "repos": [], "candidates": [],
        "leads": [], "to_send": [], "reports": {}, "errors": [], "counters": {},
        "checkpoints": [], "config": copy.deepcopy(DEFAULT_CONFIG), "ended": False,
        "current_stage": "initialization", "history": [], "sandbox": False,
    }
    for key, value in defaults.items():
        state.setdefault(key, value)
    state.setdefault("created_at", clock.now_iso())
    state["counters"] = {**{key: 0 for key in COUNTER_KEYS}, **state["counters"]}
    state["errors"] = [{"stage": "unknown", "tool": "unknown", "payload": {}, "error": "",
                        "timestamp": "", "retry_count": 0, **entry} for entry in state["errors"]]
    for lead in state["leads"]:
        if "sendable" not in lead:
            problem = email_problem(lead.get("email"))
            lead["sendable"] = problem is None
            if problem:
                lead["unsendable_reason"] = problem
    for draft in state["to_send"]:
        meta = draft.setdefault("meta", {})
        draft.setdefault("draft_id", draft_id_for(meta.get("prospect_id") or draft.get("email", ""),
                                                  meta.get("sequence_id", "")))
        if "sendable" not in meta:
            meta["sendable"] = email_problem(draft.get("email")) is None
    state["schema_version"] = STATE_VERSION
    return state
