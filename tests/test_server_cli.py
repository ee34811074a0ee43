"""`cmo ... --server URL` against a real `langgraph dev`: the same commands as on the database."""

from __future__ import annotations

import json

import pytest

from console.cli import main


@pytest.fixture
def sdk(dev_server):
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=dev_server.url)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def interrupted_cmo(sdk) -> str:
    tid = sdk.threads.create()["thread_id"]
    sdk.runs.wait(tid, "cmo", input={"goal": "Python testing maintainers"})
    return tid


def test_a_run_started_through_the_sdk_is_listed_with_status_and_graph(capsys, sdk, dev_server):
    tid = interrupted_cmo(sdk)
    code, out, _ = run_cli(capsys, "threads", "--server", dev_server.url, "--json")
    assert code == 0
    rows = {row["thread_id"]: row for row in json.loads(out)}
    assert rows[tid]["graph"] == "cmo" and rows[tid]["status"] == "interrupted"
    assert rows[tid]["goal"] == "Python testing maintainers" and rows[tid]["interrupts"] == 1
    code, out, _ = run_cli(capsys, "--server", dev_server.url, "threads")   # the global flag
    assert code == 0 and tid in out and "interrupted" in out


def test_approve_a_subset_on_the_server_sends_exactly_it_once(capsys, sdk, dev_server):
    tid = interrupted_cmo(sdk)
    (pending,) = sdk.threads.get_state(tid)["interrupts"]
    sendable = [r["action_request"]["args"] for r in pending["value"] if r["config"]["allow_accept"]]
    chosen = sendable[:2]
    code, out, err = run_cli(capsys, "approve", tid, "--server", dev_server.url, "--by", "alice",
                             "--approve", ",".join(d["draft_id"] for d in chosen), "--reject-rest")
    assert code == 0, err
    assert f"thread {tid}: done" in out
    assert sorted(r["email"] for r in dev_server.outbox(tid)) == sorted(d["email"] for d in chosen)
    assert sdk.threads.get(tid)["metadata"]["cmo_claim"]["by"] == "alice"
    # A second answer is refused: the thread no longer waits; nothing goes out twice.
    code, _, err = run_cli(capsys, "approve", tid, "--server", dev_server.url, "--all")
    assert code == 4 and "not waiting for approval" in err
    assert len(dev_server.outbox(tid)) == len(chosen)


def test_another_operators_claim_is_refused_with_their_name(capsys, sdk, dev_server):
    tid = interrupted_cmo(sdk)
    (pending,) = sdk.threads.get_state(tid)["interrupts"]
    sdk.threads.update(tid, metadata={"cmo_claim": {"interrupt_id": pending["id"], "by": "bob",
                                                     "at": "2026-12-01T10:00:00+00:00"}})
    code, _, err = run_cli(capsys, "approve", tid, "--server", dev_server.url, "--all",
                           "--by", "alice")
    assert code == 4 and "already answered by bob" in err
    assert sdk.threads.get(tid)["status"] == "interrupted" and dev_server.outbox(tid) == []


def test_a_malformed_answer_is_refused_before_the_server_sees_it(capsys, sdk, dev_server):
    tid = interrupted_cmo(sdk)
    code, _, err = run_cli(capsys, "approve", tid, "--server", dev_server.url, "--approve", "d-nope")
    assert code == 4 and "unknown draft ids: d-nope" in err
    assert sdk.threads.get(tid)["status"] == "interrupted"


def test_run_show_history_fork_and_delete(capsys, dev_server):
    url = dev_server.url
    code, out, err = run_cli(capsys, "run", "marketing", "--goal", "Launch plan", "--server", url,
                             "--json")
    assert code == 0, err
    outcome = json.loads(out)
    tid = outcome["thread_id"]
    assert outcome["status"] == "done" and outcome["summary"]["next"] == "FINISH"
    code, out, _ = run_cli(capsys, "show", tid, "--server", url, "--field", "routing_trail")
    assert code == 0 and json.loads(out)["values"]["routing_trail"]
    code, out, _ = run_cli(capsys, "history", tid, "--server", url, "--limit", "3", "--json")
    page = json.loads(out)
    assert code == 0 and len(page) == 3 and page[0]["step"] > page[-1]["step"]
    code, out, _ = run_cli(capsys, "history", tid, "--server", url, "--limit", "3", "--json",
                           "--before", page[-1]["checkpoint_id"])
    older = json.loads(out)
    assert older and older[0]["step"] < page[-1]["step"]

    early = older[-1]["checkpoint_id"]
    code, out, err = run_cli(capsys, "resume", tid, "--checkpoint", early, "--server", url, "--json")
    assert code == 0, err
    fork = json.loads(out)["thread_id"]
    assert fork != tid and json.loads(out)["status"] == "done"
    code, out, err = run_cli(capsys, "resume", tid, "--checkpoint", early, "--server", url, "--json")
    assert json.loads(out)["thread_id"] == fork and "found the fork" in err   # idempotent

    code, out, _ = run_cli(capsys, "delete", fork, "--server", url)
    assert code == 0 and f"deleted {fork}" in out
    code, _, err = run_cli(capsys, "show", fork, "--server", url)
    assert code == 4 and "not found" in err


def test_what_the_server_cannot_do_is_refused(capsys, dev_server):
    code, _, err = run_cli(capsys, "prune", "--keep", "1", "--server", dev_server.url)
    assert code == 2 and "not available on a LangGraph Server" in err
    code, _, err = run_cli(capsys, "run", "cmo", "--goal", "x", "--icp-json", "{}",
                           "--server", dev_server.url)
    assert code == 2 and "--icp-json" in err


def test_server_url_from_the_config(capsys, tmp_path, dev_server):
    config = tmp_path / "config.yaml"
    config.write_text(f"server:\n  url: {dev_server.url}\n  api_key_env: CMO_TEST_NO_KEY\n")
    code, out, _ = run_cli(capsys, "threads", "--config", str(config), "--json")
    assert code == 0 and isinstance(json.loads(out), list)


def test_an_unreachable_server_is_a_clear_error(capsys):
    import socket

    with socket.socket() as sock:             # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = run_cli(capsys, "threads", "--server", f"http://127.0.0.1:{port}")
    assert code == 3 and "cannot reach LangGraph Server" in err and "Traceback" not in err
