"""save_config_text: refused edits leave the file byte-identical; valid saves are atomic with a
backup; a file changed by someone else is never overwritten silently."""

from __future__ import annotations

import os

import pytest

from graphs.core.config import ConfigError
from graphs.core.config_file import (ConfigConflict, backup_path, changed_on_disk, config_diff,
                                default_config_text, read_config_text, save_config_text, stamp_of)

ORIGINAL = "limits:\n  max_repos: 100\nicp:\n  stars_range: \"10..500\"\n"

# (edit, a fragment the problem must name: key path or "line N")
BAD_EDITS = [
    ("limits:\n  max_repos: 0\n", "limits.max_repos"),
    ("limits:\n  max_repos: lots\n", "limits.max_repos"),
    ("limits:\n  max_repoz: 10\n", "limits.max_repoz"),
    ("limitz:\n  max_repos: 10\n", "limitz"),
    ("icp:\n  stars_range: \"500..10\"\n", "icp.stars_range"),
    ("llm:\n  provider: gpt\n", "llm.provider"),
    ("execution:\n  mode: live\n", "execution.instantly.campaign_id"),
    ("limits:\n  max_repos: [1\n", "line"),
    ("limits:\n\tmax_repos: 1\n", "line"),
    ("- just\n- a list\n", "line 1"),
    ("timeouts:\n  github_api: -1\n", "timeouts.github_api"),
    ("sandbox:\n  latency_ms: 1.5x\n", "sandbox.latency_ms"),
]


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(ORIGINAL)
    os.chmod(path, 0o640)
    return path


def files_in(path):
    return sorted(p.name for p in path.parent.iterdir())


@pytest.mark.parametrize("text, where", BAD_EDITS)
def test_every_bad_edit_is_refused_and_the_file_is_byte_identical(config_file, text, where):
    before = config_file.read_bytes()
    stamp = stamp_of(config_file)
    listing = files_in(config_file)
    with pytest.raises(ConfigError) as caught:
        save_config_text(config_file, text, expected=stamp)
    rendered = caught.value.render()
    assert where in rendered
    assert all(issue.line for issue in caught.value.issues if issue.path) or "line" in rendered
    assert config_file.read_bytes() == before
    assert stamp_of(config_file) == stamp          # not even rewritten with the same bytes
    assert files_in(config_file) == listing        # no backup, no temp file left behind


def test_valid_edit_is_written_atomically_with_a_backup(config_file):
    stamp = stamp_of(config_file)
    new_text = ORIGINAL.replace("100", "250")
    result = save_config_text(config_file, new_text, expected=stamp)
    assert config_file.read_text() == new_text
    assert result.config.limits.max_repos == 250
    assert result.backup == backup_path(config_file) == config_file.with_name("config.yaml.bak")
    assert result.backup.read_text() == ORIGINAL
    assert os.stat(config_file).st_mode & 0o777 == 0o640
    assert result.stamp == stamp_of(config_file)
    assert files_in(config_file) == ["config.yaml", "config.yaml.bak"]
    # The next save backs up the file it replaces (the previous version), not the oldest one.
    save_config_text(config_file, ORIGINAL, expected=result.stamp)
    assert result.backup.read_text() == new_text


def test_a_file_changed_by_someone_else_is_not_overwritten(config_file):
    text, stamp = read_config_text(config_file)
    theirs = ORIGINAL + "sandbox:\n  seed: 9\n"
    config_file.write_text(theirs)
    assert changed_on_disk(config_file, stamp)
    with pytest.raises(ConfigConflict):
        save_config_text(config_file, ORIGINAL.replace("100", "5"), expected=stamp)
    assert config_file.read_text() == theirs
    assert not backup_path(config_file).exists()
    # Keeping one's own version means taking the new stamp: then the save goes through.
    save_config_text(config_file, ORIGINAL.replace("100", "5"), expected=stamp_of(config_file))
    assert "max_repos: 5" in config_file.read_text()
    assert backup_path(config_file).read_text() == theirs


def test_touching_without_changing_is_not_a_conflict(config_file):
    stamp = stamp_of(config_file)
    os.utime(config_file, ns=(stamp.mtime_ns + 5_000_000_000, stamp.mtime_ns + 5_000_000_000))
    assert not changed_on_disk(config_file, stamp)
    config_file.unlink()
    assert changed_on_disk(config_file, stamp)


def test_a_missing_file_reads_as_defaults_and_is_created_without_backup(tmp_path):
    path = tmp_path / "sub" / "config.yaml"
    text, stamp = read_config_text(path)
    assert text == default_config_text() and not stamp.exists
    result = save_config_text(path, text, expected=stamp)
    assert path.read_text() == text and result.backup is None
    assert result.config.limits.max_repos == 600


def test_diff_shows_the_changed_lines():
    diff = config_diff(ORIGINAL, ORIGINAL.replace("100", "250"))
    assert "-  max_repos: 100" in diff and "+  max_repos: 250" in diff


# -- compliance (issue 11) ------------------------------------------------------------------------

LIVE = """
execution:
  mode: live
  instantly: {campaign_id: camp-1}
  linear: {team_id: team-1}
"""


@pytest.mark.parametrize("extra, key", [
    ("compliance: {require_postal_address: true}\n", "compliance.postal_address"),
    ("compliance: {require_postal_address: true, postal_address: '1 Main St'}\n", "personalize.body"),
    ("compliance: {require_unsubscribe: true, unsubscribe_text: ''}\n", "compliance.unsubscribe_text"),
    ("compliance: {require_unsubscribe: true}\n", "personalize.body"),
])
def test_live_mode_with_a_compliance_requirement_unmet_is_refused_with_the_key(tmp_path, capsys,
                                                                                extra, key):
    from console.cli import main

    path = tmp_path / "config.yaml"
    path.write_text(LIVE + extra)
    assert main(["config", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert key in err and "Traceback" not in err
    # the same settings in a dry run are fine: the gates block the drafts instead
    path.write_text(extra)
    assert main(["config", "validate", str(path)]) == 0


def test_live_mode_with_compliance_met_is_valid(tmp_path):
    from graphs.core.config import parse_config

    cfg = parse_config(LIVE + """
compliance: {require_postal_address: true, postal_address: "1 Main St", require_unsubscribe: true}
personalize:
  body: "Hi {first_name}\\n\\n{unsubscribe}\\n{postal_address}\\n"
""")
    assert cfg.compliance.require_unsubscribe and cfg.live_compliance_problem() is None


def test_bundled_config_renders_the_unsubscribe_footer():
    from pathlib import Path

    from graphs.cmo.drafts import render_template, template_values
    from graphs.core.config import load_config

    cfg = load_config(Path(__file__).parent.parent / "config.yaml")
    body = render_template(cfg.personalize.body, template_values({"login": "ann"}, "me", cfg.compliance))
    assert cfg.compliance.unsubscribe_text in body
