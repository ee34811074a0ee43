"""The marketing team's approved email copy becomes the CMO graph's personalisation template."""

import json
import sqlite3

from console.cli import main


def test_approved_marketing_copy_is_used_for_drafts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert main(["--db", "run.sqlite", "--json", "run", "marketing", "--goal", "Launch emails"]) == 0
    capsys.readouterr()
    conn = sqlite3.connect("run.sqlite")
    rows = [(rid, json.loads(data)) for rid, data in
            conn.execute("SELECT id, data FROM mkt_records WHERE collection = 'content'")]
    emails = [(rid, data) for rid, data in rows if data.get("channel") == "email"]
    assert emails, "ContentCreator drafts email copy"
    record_id, data = emails[0]
    assert data["approval_status"] == "pending"
    data.update(approval_status="approved", subject="Hello {first_name} from copy",
                body="Copy body for {repo}.")
    conn.execute("UPDATE mkt_records SET data = ? WHERE id = ?", (json.dumps(data), record_id))
    conn.commit()
    (tmp_path / "config.yaml").write_text(
        "storage: {db: run.sqlite}\nlimits: {max_repos: 10, max_people: 40}\n"
        f"personalize: {{campaign_copy: {data['campaign']}}}\nexecution: {{outbox_dir: outbox}}\n")
    assert main(["--json", "run", "cmo", "--goal", "copy test"]) == 0
    thread = json.loads(capsys.readouterr().out)["thread_id"]
    assert main(["show", thread, "--field", "to_send"]) == 0
    drafts = json.loads(capsys.readouterr().out)["values"]["to_send"]
    assert drafts and all(d["subject"].startswith("Hello ") and d["subject"].endswith(" from copy")
                          for d in drafts)
    assert all(d["body"].startswith("Copy body for ") for d in drafts)


def test_missing_copy_falls_back_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    (tmp_path / "config.yaml").write_text(
        "storage: {db: run.sqlite}\nlimits: {max_repos: 5, max_people: 20}\n"
        "personalize: {campaign_copy: no-such-campaign}\n")
    assert main(["--json", "run", "cmo", "--goal", "copy test"]) == 0
    thread = json.loads(capsys.readouterr().out)["thread_id"]
    assert main(["show", thread, "--field", "errors"]) == 0
    errors = json.loads(capsys.readouterr().out)["values"]["errors"]
    assert any("no approved email copy" in e["error"] for e in errors)
