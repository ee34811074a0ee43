"""A secret kept and shown (issue 15): vendor errors that echo a credential with an escape
sequence spliced into it, or only part of it, never reach the ledger, `errors`, the checkpoints,
the registry, `cmo show` or the Errors tab.

End to end: a real live-mode CMO run over the loopback sandbox (graphs.sandbox.server.serve on
127.0.0.1), GitHub answering some user lookups with an error that echoes part of the token, and
Instantly answering the send with one that echoes the key as `inst_\\x1b[0msecret_key_123`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from graphs.core.secrets import MASK, MIN_ECHO, redact

INSTANTLY_KEY = "inst_secret_key_123"
GITHUB_TOKEN = "ghp_Zq9XwV7kP2mLr4Tt"
ENV = {"GITHUB_TOKEN": GITHUB_TOKEN, "INSTANTLY_API_KEY": INSTANTLY_KEY,
       "ATTIO_API_KEY": "attio_Qm3Vb8Ns1Lk", "LINEAR_API_KEY": "lin_api_Hd7Pw2Xc9Rf"}
SPLICED = "inst_\x1b[0msecret_key_123"


def pieces(secret: str, size: int = 8) -> list[str]:
    return [secret[i:i + size] for i in range(len(secret) - size + 1)]


def leaks(text: str) -> list[str]:
    """Every credential piece (8 characters or more) found in `text`, spliced or not."""
    from graphs.core.text import clean_text

    flat = clean_text(text)
    found = []
    for secret in ENV.values():
        found += [piece for piece in pieces(secret) if piece in text or piece in flat]
    return found


# -- the rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("echo", [
    SPLICED, "inst_\x1b]0;t\x07secret_key_123", "inst_\x9b0msecret_key_123", "inst_\u200bsecret_key_123",
    "key inst_secret_k… was rejected", "…secret_key_123", "INST: inst_secret_key_123_extra",
    "Bearer inst_\x00secret_key_123"])
def test_spliced_and_partial_echoes_are_masked(echo):
    shown = redact(f"401 Unauthorized: {echo}", [INSTANTLY_KEY])
    assert leaks(shown) == [] and MASK in shown and "\x1b" not in shown


@given(prefix=st.text(max_size=40), cut=st.integers(0, len(INSTANTLY_KEY) - MIN_ECHO),
       size=st.integers(MIN_ECHO, len(INSTANTLY_KEY)), splice=st.sampled_from(
           ["", "\x1b[0m", "\x1b[31;1m", "\x07", "\x1b]8;;x\x07", "\u200b", "\x00", "\x7f"]),
       at=st.integers(0, len(INSTANTLY_KEY)))
@settings(max_examples=200, deadline=None)
def test_fuzzed_echoes_never_keep_a_run_of_the_key(prefix, cut, size, splice, at):
    echo = INSTANTLY_KEY[:at] + splice + INSTANTLY_KEY[at:]
    part = INSTANTLY_KEY[cut:cut + size]
    for text in (prefix + echo, prefix + part, echo + prefix):
        shown = redact(text, [INSTANTLY_KEY])
        runs = [INSTANTLY_KEY[i:i + MIN_ECHO] for i in range(len(INSTANTLY_KEY) - MIN_ECHO + 1)]
        assert not any(run in shown for run in runs), (text, shown)


def test_ordinary_text_and_non_secret_headers_are_left_alone():
    from graphs.core.secrets import header_secrets

    assert redact("rate limited; resets in 60 s", [INSTANTLY_KEY]) == "rate limited; resets in 60 s"
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
               "Authorization": f"Bearer {GITHUB_TOKEN}"}
    assert header_secrets(headers) == [GITHUB_TOKEN]
    assert header_secrets({"Authorization": "Bearer sandbox-key"}) == []  # public stand-in


def test_an_error_a_client_builds_itself_is_scrubbed_too():
    """GitHub's GraphQL answers HTTP 200 with an `errors` list: the client makes the VendorError
    from it without HttpService's redaction. VendorError scrubs every message it is given."""
    from graphs.clients.github import GitHubClient
    from graphs.clients.http import HttpService, make_http_client
    from graphs.core.secrets import remember

    remember(GITHUB_TOKEN)
    client = GitHubClient(HttpService("github", make_http_client(), "http://127.0.0.1:9", {}, 5),
                          token=GITHUB_TOKEN, use_graphql=True, per_hour=5000)
    spliced = GITHUB_TOKEN[:6] + "\x1b[1m" + GITHUB_TOKEN[6:]
    _, errors = client._read_graphql_batch(["ada"], {"data": {}, "errors": [
        {"path": ["u0"], "message": f"token {spliced} lacks read:user"}]})
    assert [str(e) for e in errors] == ["github: HTTP 404: ada: token *** lacks read:user"]


# -- end to end over the loopback vendors ------------------------------------------------------

def write_config(folder: Path, base_url: str) -> Path:
    data = {"storage": {"db": str(folder / "runs.db")},
            "limits": {"max_repos": 6, "max_people": 20, "per_inbox_daily": 200},
            "rate_limits": {"instantly_per_inbox_daily": 200},
            "github": {"mode": "live", "base_url": base_url},
            "execution": {"mode": "live", "outbox_dir": str(folder / "outbox"),
                          "instantly": {"base_url": base_url, "campaign_id": "camp-secret"},
                          "attio": {"base_url": base_url},
                          "linear": {"base_url": base_url, "team_id": "team-secret"}}}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run_in_thread(coro):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def leaked_run(tmp_path_factory):
    """A live run whose vendors echo the credentials back in their errors; approved in full."""
    from helpers_threads import approve_all_answer

    from graphs.core.config import load_config
    from graphs.core.runner import run_graph
    from graphs.sandbox.handler import Fault, Sandbox
    from graphs.sandbox.server import serve

    folder = tmp_path_factory.mktemp("secrets")
    thread = "cmo-secret-echo"
    sandbox = Sandbox(seed=7)
    # GitHub echoes the token (a spliced escape, then a cut one) on two contributor lookups.
    sandbox.faults.append(Fault("/repos/", status=422, times=2, method="GET", body={
        "message": f"Bad credentials: ghp_Zq9X\x1b[0mwV7kP2mLr4Tt and {GITHUB_TOKEN[4:15]}…"}))
    with serve(sandbox) as base_url:
        cfg = load_config(write_config(folder, base_url))
        db = folder / "runs.db"
        first = run_in_thread(run_graph("cmo", cfg, thread, goal="secret echo", db_path=db, env=ENV))
        assert first.status == "interrupted"
        sandbox.faults.append(Fault("/api/v2/leads/add", status=401, times=5, body={
            "message": f"invalid API key {SPLICED}; did you mean {INSTANTLY_KEY[:11]}…?"}))
        final = run_in_thread(run_graph("cmo", cfg, thread, db_path=db, env=ENV,
                                        resume=approve_all_answer(db, thread)))
    assert sandbox.faults[-1].hits >= 1, "Instantly was not called"
    return folder, db, thread, final


def test_no_credential_piece_is_stored_anywhere(leaked_run):
    import sqlite3

    folder, db, thread, _ = leaked_run
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    errors = conn.execute("SELECT detail FROM send_ledger WHERE thread_id = ? AND status = 'failed'",
                          (thread,)).fetchall()
    conn.close()
    assert errors and all(MASK in row[0] for row in errors), errors
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("latin-1")
            assert leaks(text) == [], (path.name, leaks(text))


def test_errors_in_state_are_masked_and_cmo_show_prints_none(leaked_run, capsys):
    from console.cli import main
    from graphs.storage.inspect import thread_state

    folder, db, thread, _ = leaked_run
    errors = thread_state(db, thread).values["errors"]
    texts = [entry["error"] for entry in errors]
    assert any("instantly" in t and MASK in t for t in texts), texts
    assert sum("github" in t and MASK in t for t in texts) == 2, texts
    assert main(["--db", str(db), "show", thread, "--field", "errors"]) == 0
    shown = capsys.readouterr().out
    assert json.loads(shown)["values"]["errors"] and leaks(shown) == [] and "\\u001b" not in shown
    assert main(["--db", str(db), "show", thread, "--full"]) == 0
    assert leaks(capsys.readouterr().out) == []


async def test_the_errors_tab_shows_the_masked_text(leaked_run):
    from test_console_dashboards import dashboard_app, screen_text, settle

    from console.screens.cmo_dashboard import CmoDashboard

    folder, db, thread, _ = leaked_run
    app = dashboard_app(db, lambda: CmoDashboard(thread))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("5")
        await pilot.pause()
        text = screen_text(app)
        assert MASK in text and "instantly" in text
        assert leaks(text) == []
