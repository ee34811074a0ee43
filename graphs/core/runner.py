"""Run either graph on the SQLite checkpointer, keeping the run registry fresh.

One entry point for starting, continuing, resuming, answering an interrupt and forking, so the CLI,
the console's child processes and the tests all run graphs the same way.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from graphs.core import specs
from graphs.core.config import Config
from graphs.core.specs import GraphSpec
from graphs.storage.registry import RunRecorder, RunRefused, ThreadBusy  # noqa: F401  (re-exported)

PROGRESS_INTERVAL = 0.25  # seconds between registry writes of streamed progress

EventSink = Callable[[dict], None]


@dataclass
class RunOutcome:
    thread_id: str
    graph: str
    status: str                      # interrupted | done | stopped | error
    summary: dict = field(default_factory=dict)
    interrupts: list[dict] = field(default_factory=list)
    error: str | None = None
    checkpoint_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def graph_module(kind: str):
    """The module of a known graph (imports langgraph); RunRefused for an unknown name."""
    return specs.require(kind).load()


async def run_graph(kind: str, cfg: Config, thread_id: str, *, goal: str | None = None,
                    resume: Any = None, checkpoint_id: str | None = None,
                    db_path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None,
                    transport: Any = None, on_event: EventSink | None = None,
                    created_by: str = "cli") -> RunOutcome:
    """Start (goal), answer an interrupt (resume), or continue (neither) a thread.

    `kind` names a graph spec (graphs.core.specs). An existing thread runs only with the graph
    it recorded: another graph's thread, or one whose graph is unknown, is refused.
    With `checkpoint_id` the run continues from that checkpoint: a fork when it is not the newest.
    The graph is recorded twice: in the registry row and, under `cmo_graph`, in the metadata of
    every checkpoint the run writes (so a copy of the checkpoints alone still says it).
    """
    from langgraph.types import Command

    from graphs.core.lifecycle import thread_graph
    from graphs.storage.checkpoint import open_saver
    from graphs.storage.location import is_postgres

    from graphs.core.ids import check_optional, check_thread_id

    # Before anything is written: a bad id must not leave a registry row or ledger rows behind.
    check_thread_id(thread_id)
    check_optional(checkpoint_id, "checkpoint id")
    spec = specs.require(kind)
    db_path = str(db_path or cfg.storage.location)
    if not is_postgres(db_path):
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    recorded = thread_graph(db_path, thread_id)
    if recorded is not None and recorded != spec.name:
        specs.require(recorded, thread_id)  # an unknown graph: UnknownGraph says so
        raise RunRefused(f"thread {thread_id} is a {recorded} run; it cannot be run as {spec.name}")
    from graphs.storage.faults import ensure_reserve

    ensure_reserve(db_path)  # room to record a failure if the disk fills during the run
    recorder = RunRecorder(db_path, thread_id, spec.name)
    try:
        recorder.start(goal=goal, sandbox=spec.vendor_sandbox and cfg.github_is_sandbox(env),
                       offline=cfg.llm.provider == "template",
                       intent="answer" if resume is not None else "goal" if goal is not None
                       else "continue", checkpoint_id=checkpoint_id)
    except ThreadBusy as exc:
        recorder.close()
        raise RunRefused(str(exc)) from None
    except BaseException:  # locked, read-only, damaged: nothing was claimed or changed
        recorder.close()
        raise
    ctx = None
    try:
        ctx = await spec.make_context(cfg, db_path, env, transport)
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        config = {"configurable": configurable, "recursion_limit": spec.recursion_limit(cfg),
                  "metadata": {specs.RECORDED_KEY: spec.name}}
        async with open_saver(db_path) as saver:
            graph = spec.build_graph().compile(checkpointer=saver)
            if resume is not None:
                graph_input: Any = Command(resume=resume)
            elif goal is not None:
                graph_input = spec.initial_input(cfg, goal, thread_id, created_by)
            else:
                snapshot = await graph.aget_state(config)
                if not snapshot.values and not snapshot.next:
                    raise RunRefused(f"thread {thread_id} has no checkpoint to resume from")
                graph_input = None
            outcome = await _stream(spec, graph, graph_input, config, ctx, recorder, on_event)
            return outcome
    except RunRefused as exc:
        _record(recorder, db_path, None, status="stopped", error=str(exc))
        raise
    except (asyncio.CancelledError, KeyboardInterrupt):
        _record(recorder, db_path, None, status="stopped", waiting=None)
        raise
    except Exception as exc:  # the run failed: record it so consoles show it, then re-raise
        _record(recorder, db_path, exc, status="error", error=failure_message(exc, db_path),
                waiting=None)
        raise
    finally:
        if ctx is not None and hasattr(ctx, "aclose"):
            await ctx.aclose()
        elif ctx is not None and getattr(ctx, "services", None) is not None:
            await ctx.services.aclose()
        recorder.close()


def failure_message(exc: BaseException, db_path: str) -> str:
    """What a failed run records: a storage fault in words (disk full, locked, read-only,
    damaged: graphs.storage.faults), anything else as `Type: message`."""
    from graphs.storage.faults import describe, storage_cause

    from graphs.core.secrets import scrub

    cause = storage_cause(exc)
    text = str(describe(cause, db_path)) if cause is not None else f"{type(exc).__name__}: {exc}"
    return scrub(text)[:2000]


def _record(recorder: RunRecorder, db_path: str, failure: BaseException | None,
            **fields: Any) -> None:
    """Record how the run ended without masking why it ended. On a full disk the reserve file
    is given back first; if the row still cannot be written, the run reads `crashed` once this
    process is gone (the CLI still says why)."""
    from graphs.storage.faults import is_disk_full, release_reserve, storage_cause

    for attempt in range(2):
        try:
            recorder.update(**fields)
            return
        except Exception as exc:
            full = is_disk_full(exc, db_path) or (
                failure is not None and is_disk_full(storage_cause(failure) or failure, db_path))
            if attempt or storage_cause(exc) is None or not (full and release_reserve(db_path)):
                return


async def _stream(spec: GraphSpec, graph, graph_input, config, ctx, recorder: RunRecorder,
                  on_event: EventSink | None) -> RunOutcome:
    last_write = 0.0
    pending: dict[str, Any] = {}

    async def beat() -> None:
        while True:
            await asyncio.sleep(1.0)
            recorder.heartbeat()

    # After the run, read the thread's newest state, not the checkpoint a fork started from.
    latest = {"configurable": {"thread_id": config["configurable"]["thread_id"]}}
    def custom(data: dict) -> None:
        kind_of = data.get("kind")
        if kind_of in ("progress", "waiting", "rate"):
            pending[kind_of] = data
        if kind_of == "progress":
            pending["waiting"] = None
        if kind_of == "waiting":
            _flush(recorder, pending)  # a wait can last minutes with no other event to flush it
        if on_event:
            on_event(data)

    if hasattr(ctx, "on_event"):
        ctx.on_event = custom  # vendor clients' rate readings and waits
    beater = asyncio.create_task(beat())
    stepped: list[str] = []  # nodes of the step whose "values" have not come yet
    try:
        # durability="sync": a step's checkpoint is on disk before the next step starts, so a
        # kill right after approval or execution never loses what those steps decided.
        # "values" is the state after each step, from memory: summarising it costs nothing
        # like reading the state back (a full load per node: the whole marketing transcript's
        # walk, or 3,000 leads, ~11 times a goal). A step's "updates" come before its "values".
        async for mode, data in graph.astream(graph_input, config, context=ctx,
                                              stream_mode=["updates", "values", "custom"],
                                              durability="sync"):
            if mode == "custom" and isinstance(data, dict):
                custom(data)
            elif mode == "updates" and isinstance(data, dict):
                stepped.extend(node for node in data if node != "__interrupt__")
            elif mode == "values" and isinstance(data, dict) and stepped:
                summary = spec.summarize(data)
                pending["stage"] = summary.get("stage") or stepped[-1]
                pending["counts"] = _counts(summary)
                if on_event:
                    for node in stepped:
                        on_event({"kind": "node", "node": node, "summary": summary,
                                  "counts": pending["counts"]})
                stepped = []
            now = time.monotonic()
            if pending and (now - last_write >= PROGRESS_INTERVAL or "counts" in pending):
                _flush(recorder, pending)
                last_write = now
        if pending:
            _flush(recorder, pending)
    finally:
        beater.cancel()
    snapshot = await graph.aget_state(latest)
    summary = spec.summarize(snapshot.values)
    if on_event:  # a step that changed no output channel emitted no "values"
        for node in stepped:
            on_event({"kind": "node", "node": node, "summary": summary,
                      "counts": _counts(summary)})
    interrupts = [{"id": item.id, "value": item.value} for item in snapshot.interrupts or ()]
    status = "interrupted" if interrupts else ("stopped" if snapshot.next else "done")
    if status == "done" and summary.get("error"):
        status = "error"
    recorder.update(status=status, stage=summary.get("stage") or "", counts=_counts(summary),
                    waiting=None,
                    error=summary.get("error"))
    if on_event:
        on_event({"kind": "finished", "status": status, "summary": summary})
    return RunOutcome(thread_id=config["configurable"]["thread_id"], graph=spec.name, status=status,
                      summary=summary, interrupts=interrupts,
                      checkpoint_id=snapshot.config["configurable"].get("checkpoint_id"))


def _counts(summary: dict) -> dict:
    """The flat numbers the runs list shows (graphs may nest them under "counts")."""
    counts = summary.get("counts") if isinstance(summary.get("counts"), dict) else summary
    return {k: v for k, v in counts.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _flush(recorder: RunRecorder, pending: dict[str, Any]) -> None:
    fields = {}
    for key in ("stage", "counts", "progress", "waiting", "rate"):
        if key in pending:
            fields[key] = pending[key]
    pending.clear()
    if fields:
        recorder.update(**fields)
