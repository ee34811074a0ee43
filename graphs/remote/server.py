"""Attach to a LangGraph Server (`langgraph dev` or a deployment) through `langgraph-sdk`.

The same operations as on the local database: list threads with status and graph, state,
history, start, approve (Command(resume=...)), continue, fork, delete; and follow a run's stream
with reconnects that lose no event (resumable streams, de-duplicated by event id).

Approval claims on a server: the server has no cmo claim table. The first answer wins by two
checks the server enforces itself: an answer is accepted only while the thread is `interrupted`
at that interrupt, and the resuming run is created with `multitask_strategy="reject"`, so a
second answer racing the first is refused while the first runs (409) and after it ends (the
thread is no longer interrupted). Who answered is recorded in the thread's metadata
(`cmo_claim`: by, at, interrupt id), and another operator's claim on the same interrupt is
refused with their name, as locally.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Mapping

from graphs.core import clock

CLAIM_KEY = "cmo_claim"
KNOWN_GRAPHS = ("cmo", "marketing")
# Paths the thread list extracts from each thread's values, so listing never ships whole states.
EXTRACT = {"goal": "values.goal", "stage": "values.current_stage", "ended": "values.ended",
           "next": "values.next", "first_message": "values.messages[0].content"}
SELECT = ["thread_id", "created_at", "updated_at", "metadata", "status", "interrupts"]


class ServerError(Exception):
    """An operator-facing failure talking to the server (unreachable, unknown thread, refused)."""

    def __init__(self, message: str, code: int = 4) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class RemoteThread:
    thread_id: str
    graph: str
    status: str              # running | interrupted | done | stopped | error | new
    stage: str
    goal: str
    created_at: str
    updated_at: str
    interrupts: int
    server_status: str       # the server's own word: idle | busy | interrupted | error
    metadata: dict = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def thread_status(server_status: str, graph: str, extracted: Mapping[str, Any]) -> str:
    """The server's thread status in cmo's words (idle is done or stopped, by the graph's end)."""
    if server_status == "busy":
        return "running"
    if server_status in ("interrupted", "error"):
        return server_status
    if not any(value is not None for value in extracted.values()):
        return "new"
    if graph == "cmo":
        return "done" if extracted.get("ended") else "stopped"
    if graph == "marketing":
        return "done" if extracted.get("next") == "FINISH" else "stopped"
    return "done"


def _row(raw: Mapping[str, Any]) -> RemoteThread:
    metadata = dict(raw.get("metadata") or {})
    extracted = dict(raw.get("extracted") or {})
    graph = str(metadata.get("graph_id") or "unknown")
    status = thread_status(str(raw.get("status") or ""), graph, extracted)
    stage = extracted.get("stage") if graph == "cmo" else extracted.get("next")
    if graph == "marketing" and stage == "FINISH":
        stage = "done"
    goal = extracted.get("goal") or extracted.get("first_message") or ""
    return RemoteThread(
        thread_id=str(raw["thread_id"]), graph=graph, status=status, stage=str(stage or ""),
        goal=str(goal if isinstance(goal, str) else ""), created_at=str(raw.get("created_at") or ""),
        updated_at=str(raw.get("updated_at") or ""), interrupts=len(raw.get("interrupts") or {}),
        server_status=str(raw.get("status") or ""), metadata=metadata)


def usable_threads(rows: list[RemoteThread], server: Any = None) -> list[RemoteThread]:
    """The rows whose ids fit cmo's id rule (graphs/core/ids.py). The others are skipped, never
    acted on; how many (and why) is kept on `server.skipped_ids` for the caller to say."""
    from graphs.core.ids import id_problem

    kept, skipped = [], []
    for row in rows:
        problem = id_problem(row.thread_id)
        if problem is None:
            kept.append(row)
        else:
            skipped.append(problem)
    if server is not None:
        server.skipped_ids = skipped
    return kept


def event_key(event_id: str | None) -> tuple[int, int]:
    """Stream event ids are "<ms>-<seq>": order them as numbers, not strings."""
    try:
        ms, _, seq = str(event_id).partition("-")
        return int(ms), int(seq or 0)
    except ValueError:
        return (-1, -1)


class Remote:
    """One LangGraph Server, through the synchronous SDK client (CLI and thread workers)."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 60.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self._api_key, self._timeout, self._client = api_key, timeout, None
        self.skipped_ids: list[str] = []  # why the newest threads() left some ids out
        # The thread list goes straight over HTTP: importing langgraph_sdk costs 0.35-1.2 s
        # (it pulls in langchain_core), which `cmo threads --server` should not pay.
        self.http = httpx.Client(base_url=self.url, timeout=timeout,
                                 headers={"x-api-key": api_key} if api_key else None)

    @property
    def client(self) -> Any:
        """The SDK's sync client, made on first use."""
        if self._client is None:
            from langgraph_sdk import get_sync_client

            # api_key=None stops the SDK from picking up LANGSMITH_API_KEY & co. on its own.
            self._client = get_sync_client(url=self.url, api_key=self._api_key,
                                           timeout=self._timeout)
        return self._client

    def _search(self, **body: Any) -> list[dict]:
        response = self.http.post("/threads/search", json=body)
        response.raise_for_status()
        return response.json()

    @classmethod
    def from_config(cls, url: str | None, cfg: Any = None,
                    env: Mapping[str, str] | None = None) -> "Remote":
        env = env if env is not None else os.environ
        server = getattr(cfg, "server", None)
        url = url or (server.url if server is not None else "")
        if not url:
            raise ServerError("no server URL: pass --server URL or set server.url in the config", 2)
        key_env = server.api_key_env if server is not None else ""
        return cls(url, (env.get(key_env) or None) if key_env else None)

    # -- calls, with errors an operator can act on --------------------------------------------
    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        import httpx

        try:
            return fn()
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            detail = _detail(exc.response)
            if status == 404:
                raise ServerError(f"{what}: not found on {self.url}{detail}") from None
            if status == 409:
                raise ServerError(f"{what}: refused by the server, a run is in progress on this "
                                  f"thread{detail}") from None
            if status in (401, 403):
                raise ServerError(f"{what}: the server refused our credentials ({status}); set "
                                  "the variable named by server.api_key_env", 2) from None
            raise ServerError(f"{what}: server answered {status}{detail}") from None
        except httpx.TransportError as exc:
            raise ServerError(f"cannot reach LangGraph Server at {self.url}: {exc}", 3) from None

    def ok(self) -> bool:
        import httpx

        try:
            return self.http.get("/ok").json().get("ok") is True
        except (httpx.HTTPError, ValueError, AttributeError):
            return False

    # -- reading ------------------------------------------------------------------------------
    def threads(self, limit: int = 200) -> list[RemoteThread]:
        raw = self._call("list threads", lambda: self._search(
            limit=limit, sort_by="updated_at", sort_order="desc", select=SELECT, extract=EXTRACT))
        return usable_threads([_row(item) for item in raw], self)

    def thread(self, thread_id: str) -> RemoteThread:
        raw = self._call(f"thread {thread_id}", lambda: self._search(
            ids=[thread_id], limit=1, select=SELECT, extract=EXTRACT))
        if not raw:
            raise ServerError(f"thread {thread_id}: not found on {self.url}")
        return _row(raw[0])

    def state(self, thread_id: str, checkpoint_id: str | None = None) -> dict:
        return self._call(f"thread {thread_id}", lambda: self.client.threads.get_state(
            thread_id, checkpoint_id=checkpoint_id))

    def history(self, thread_id: str, limit: int = 20, before: str | None = None) -> list[dict]:
        before_ref = {"configurable": {"checkpoint_id": before}} if before else None
        raw = self._call(f"history of {thread_id}", lambda: self.client.threads.get_history(
            thread_id, limit=limit, before=before_ref))
        rows = []
        for item in raw:
            meta = item.get("metadata") or {}
            writes = meta.get("writes") or {}
            rows.append({"checkpoint_id": item["checkpoint"]["checkpoint_id"],
                         "step": meta.get("step"), "source": meta.get("source"),
                         "node": next(iter(writes), None) if isinstance(writes, dict) else None,
                         "next": list(item.get("next") or []),
                         "created_at": item.get("created_at"),
                         "interrupted": bool(item.get("interrupts"))})
        return rows

    # -- running ------------------------------------------------------------------------------
    def _graph_of(self, thread_id: str) -> str:
        graph = self.thread(thread_id).graph
        if graph not in KNOWN_GRAPHS:
            raise ServerError(f"thread {thread_id} runs graph {graph!r}, which cmo cannot drive; "
                              f"it can drive {', '.join(KNOWN_GRAPHS)}")
        return graph

    def start(self, graph: str, goal: str, thread_id: str | None = None,
              metadata: Mapping[str, Any] | None = None, wait: bool = True) -> dict:
        """A new goal on a new (or the given) thread; returns the run (waited for by default)."""
        if graph not in KNOWN_GRAPHS:
            raise ServerError(f"unknown graph {graph!r}: choose one of {', '.join(KNOWN_GRAPHS)}", 2)
        thread = self._call("create thread", lambda: self.client.threads.create(
            thread_id=thread_id, if_exists="do_nothing",
            metadata={"graph_id": graph, **(metadata or {})}))
        from graphs.core.ids import check_id

        tid = check_id(str(thread["thread_id"]), f"thread id from {self.url}")
        existing = str((thread.get("metadata") or {}).get("graph_id") or graph)
        if existing != graph:
            raise ServerError(f"thread {tid} runs graph {existing!r}, not {graph!r}")
        return self._run(tid, graph, wait, input={"goal": goal})

    def _run(self, thread_id: str, graph: str, wait: bool, **kwargs: Any) -> dict:
        what = f"run {graph} on {thread_id}"
        run = self._call(what, lambda: self.client.runs.create(
            thread_id, graph, multitask_strategy="reject", stream_resumable=True,
            stream_mode=["updates", "custom"], **kwargs))
        if wait:
            self._call(what, lambda: self.client.runs.join(thread_id, run["run_id"]))
        return {"thread_id": thread_id, "run_id": run["run_id"], "graph": graph}

    def outcome(self, thread_id: str) -> dict:
        """What a finished command prints: status, stage, interrupts, summary."""
        row = self.thread(thread_id)
        state = self.state(thread_id)
        summary = summarize(row.graph, state.get("values") or {})
        return {"thread_id": thread_id, "graph": row.graph, "status": row.status,
                "summary": summary, "interrupts": len(state.get("interrupts") or []),
                "checkpoint_id": (state.get("checkpoint") or {}).get("checkpoint_id")}

    def pending_interrupt(self, thread_id: str) -> tuple[str, Any]:
        row = self.thread(thread_id)
        if row.server_status != "interrupted":
            raise ServerError(f"thread {thread_id} is not waiting for approval (status {row.status})")
        interrupts = self.state(thread_id).get("interrupts") or []
        if not interrupts:
            raise ServerError(f"thread {thread_id} is not waiting for approval")
        return interrupts[0]["id"], interrupts[0]["value"]

    def approve(self, thread_id: str, interrupt_id: str, answer: Any, by: str,
                wait: bool = True) -> dict:
        """Claim the interrupt for `by`, then resume with Command(resume=answer)."""
        graph = self._graph_of(thread_id)
        current, _ = self.pending_interrupt(thread_id)
        if current != interrupt_id:
            raise ServerError(f"thread {thread_id} moved on: its approval step is a new one; "
                              "review it again")
        claim = (self.thread(thread_id).metadata or {}).get(CLAIM_KEY) or {}
        if claim.get("interrupt_id") == interrupt_id and claim.get("by") != by:
            raise ServerError(f"already answered by {claim.get('by')} at {claim.get('at')}")
        mine = {"interrupt_id": interrupt_id, "by": by, "at": clock.now_iso()}
        self._call(f"claim {thread_id}", lambda: self.client.threads.update(
            thread_id, metadata={CLAIM_KEY: mine}))
        return self._run(thread_id, graph, wait, command={"resume": answer})

    def resume(self, thread_id: str, wait: bool = True) -> dict:
        """Continue a stopped thread from its newest checkpoint."""
        graph = self._graph_of(thread_id)
        row = self.thread(thread_id)
        if row.status == "interrupted":
            raise ServerError(f"thread {thread_id} is waiting for approval: answer it with "
                              f"`cmo approve {thread_id} --server {self.url} ...`")
        if row.status == "running":
            raise ServerError(f"thread {thread_id} is running")
        if row.status in ("done", "new"):
            raise ServerError(f"thread {thread_id} is {row.status}: nothing to resume")
        return self._run(thread_id, graph, wait, input=None)

    def fork(self, thread_id: str, checkpoint_id: str, wait: bool = True) -> dict:
        """A new thread (a server-side copy) continuing from `checkpoint_id`; the original stays.
        Idempotent: a fork of the same checkpoint already made is found and reused."""
        graph = self._graph_of(thread_id)
        mark = {"forked_from": thread_id, "fork_checkpoint": checkpoint_id}
        found = self._call("find forks", lambda: self.client.threads.search(
            metadata=mark, limit=1, select=["thread_id", "status"]))
        if found:
            return {"thread_id": found[0]["thread_id"], "graph": graph, "reused": True}
        copy = self._call(f"copy {thread_id}", lambda: self.client.threads.copy(thread_id))
        from graphs.core.ids import check_id

        fork_id = check_id(str(copy["thread_id"]), f"thread id from {self.url}")
        self._call(f"mark {fork_id}", lambda: self.client.threads.update(
            fork_id, metadata={**mark, CLAIM_KEY: None}))
        run = self._run(fork_id, graph, wait, input=None, checkpoint_id=checkpoint_id)
        return {**run, "reused": False}

    def delete(self, thread_id: str) -> None:
        row = self.thread(thread_id)
        if row.status == "running":
            raise ServerError(f"thread {thread_id} is running; cancel its run first")
        self._call(f"delete {thread_id}", lambda: self.client.threads.delete(thread_id))

    # -- following ----------------------------------------------------------------------------
    def follow(self, thread_id: str, run_id: str, *, cursor: "StreamCursor | None" = None,
               reconnects: int = 5, on_reconnect: Callable[[int, str], None] | None = None
               ) -> Iterator[Any]:
        """Every event of a run, once, in order: rejoins a dropped stream after the last event
        seen (the run must have been created with stream_resumable=True, as `_run` does).
        Pass the same `cursor` to a later call to rejoin where an earlier one stopped.

        Event ids are "<ms>-<seq>", but the in-memory server gives every event of one
        millisecond the same id, and replays only ids strictly after Last-Event-ID. So a rejoin
        asks from just before the last id's millisecond and skips the events of that millisecond
        it already yielded (matched by kind and payload), then everything older.
        """
        import httpx

        cursor = cursor if cursor is not None else StreamCursor()
        attempts = 0
        while True:
            replayed = Counter(cursor.at_last)
            since = _just_before(cursor.last) if cursor.at_last else cursor.last
            try:
                for part in self.client.runs.join_stream(thread_id, run_id, last_event_id=since):
                    if part.id is not None:
                        key, mark = event_key(part.id), (part.event, _digest(part.data))
                        if key < event_key(cursor.last):
                            continue
                        if key == event_key(cursor.last) and replayed[mark] > 0:
                            replayed[mark] -= 1       # seen before the connection dropped
                            continue
                        if key > event_key(cursor.last):
                            cursor.last, cursor.at_last = part.id, []
                        cursor.at_last.append(mark)
                    yield part
                return
            except httpx.TransportError as exc:
                attempts += 1
                if attempts > reconnects:
                    raise ServerError(f"lost the stream of run {run_id} after {reconnects} "
                                      f"reconnects: {exc}", 3) from None
                if on_reconnect is not None:
                    on_reconnect(attempts, cursor.last)


@dataclass
class StreamCursor:
    """Where a followed stream got to: the last event id, and what was yielded with that id."""

    last: str = "0"
    at_last: list = field(default_factory=list)


def _just_before(event_id: str) -> str:
    ms, seq = event_key(event_id)
    return f"{ms - 1}-0" if ms > 0 else "0"


def _digest(data: Any) -> str:
    import hashlib
    import json

    text = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def answer_for(requests: list[dict], *, approve_all: bool = False, approve: list[str] = (),
               reject: list[str] = (), reject_rest: bool = False) -> dict[str, str]:
    """A `{draft_id: accept|ignore}` answer to the approval interrupt's requests (what the CLI's
    --all / --approve / --reject / --reject-rest mean on a server, which keeps no review)."""
    sendable = {}
    for request in requests:
        draft_id = ((request.get("action_request") or {}).get("args") or {}).get("draft_id")
        sendable[draft_id] = bool((request.get("config") or {}).get("allow_accept"))
    if approve_all:
        return {i: "accept" if ok else "ignore" for i, ok in sendable.items()}
    unknown = [i for i in [*approve, *reject] if i not in sendable]
    if unknown:
        raise ServerError(f"unknown draft ids: {', '.join(unknown[:10])}")
    answer = {i: "accept" for i in approve} | {i: "ignore" for i in reject}
    undecided = [i for i in sendable if i not in answer]
    if undecided and not reject_rest:
        raise ServerError(f"{len(undecided)} drafts have no decision; name them with --reject or "
                          "add --reject-rest")
    return answer | {i: "ignore" for i in undecided}


def _detail(response: Any) -> str:
    try:
        body = response.json()
        text = body.get("detail") or body.get("message") if isinstance(body, dict) else None
    except ValueError:
        text = None
    return f" ({str(text)[:200]})" if text else ""


def summarize(graph: str, values: Mapping[str, Any]) -> dict:
    """The graph's own summary of server state (messages come back as JSON: revive them)."""
    values = dict(values or {})
    if graph == "cmo":
        from graphs.cmo.graph import summarize_state

        return summarize_state(values)
    if graph == "marketing":
        from langchain_core.messages import convert_to_messages

        from graphs.marketing_team.graph import summarize_state

        try:
            values["messages"] = convert_to_messages(values.get("messages") or [])
        except (ValueError, TypeError, KeyError):
            values["messages"] = []
        return summarize_state(values)
    return {"stage": "", "fields": sorted(values)}
