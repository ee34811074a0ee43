"""Hostile config files (issue 15): an alias bomb, deep nesting, a huge file and duplicate keys are
refused quickly, with key path and line, as exit 2 without a traceback, in `cmo config validate`
and in every command that loads the config (the console included), and never grow memory."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from console.cli import main
from graphs.core.config import ConfigError, load_config, parse_config
from graphs.core.config_yaml import MAX_CONFIG_BYTES, MAX_DEPTH, MAX_VALUES, load_yaml


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": 9 levels of 9 aliases each, ~500 bytes describing 9^9 values."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * width) + "]")
    lines.append(f"icp:\n  keywords: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def deep_flow(depth: int) -> str:
    return "icp:\n  keywords: " + "[" * depth + "]" * depth + "\n"


def deep_block(depth: int) -> str:
    return "".join("  " * level + f"k{level}:\n" for level in range(depth))


HOSTILE = {
    # name: (text, fragment of the message, line or None)
    "alias bomb": (alias_bomb(), f"more than {MAX_VALUES:,} values", 6),
    "20,000-deep flow": (deep_flow(20_000), "nest", 2),
    "deep block mapping": (deep_block(MAX_DEPTH + 5), f"more than {MAX_DEPTH} levels", MAX_DEPTH + 1),
    "cyclic alias": ("icp:\n  keywords: &x [a, *x]\n", "cycle", 2),
    "duplicate key": ("limits:\n  max_repos: 1\n  max_people: 5\n  max_repos: 2\n",
                      "also set at line 2", 4),
    "duplicate section": ("limits:\n  max_repos: 1\nicp: {}\nlimits:\n  max_people: 3\n",
                          "also set at line 1", 4),
    "duplicate quoted key": ('limits:\n  max_repos: 1\n  "max_repos": 2\n', "also set at line 2", 3),
}


def test_the_alias_bomb_is_small_and_would_expand_to_billions():
    assert len(alias_bomb()) < 500


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_is_refused_quickly_with_line_and_little_memory(name):
    text, fragment, line = HOSTILE[name]
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ConfigError) as caught:
            parse_config(text, "hostile.yaml")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    rendered = caught.value.render()
    assert fragment in rendered, rendered
    assert any(issue.line == line for issue in caught.value.issues), rendered
    # Generous bounds (a loaded 2-core machine, tracemalloc on): the unbounded loader took
    # minutes and gigabytes here.
    assert peak < 50_000_000 and elapsed < 10, (peak, elapsed)


def test_duplicate_keys_name_both_lines_and_the_key_path():
    text = "limits:\n  max_repos: 1\n  max_repos: 2\nsandbox:\n  seed: 1\n  seed: 2\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    issues = [(issue.path, issue.line) for issue in caught.value.issues]
    assert issues == [("limits.max_repos", 3), ("sandbox.seed", 6)]
    assert "also set at line 2" in caught.value.render()
    assert "also set at line 5" in caught.value.render()


def test_a_merge_key_overridden_by_an_explicit_key_is_not_a_duplicate():
    # `<<` then an explicit key is how YAML says "these, but this one different".
    data, lines = load_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\n", "merge.yaml")
    assert data["other"] == {"x": 3, "y": 2}
    assert lines[("other", "x")] == 4


def test_the_limits_themselves_still_accept_a_large_real_config():
    keywords = "".join(f"    - keyword{i}\n" for i in range(5000))
    cfg = parse_config("icp:\n  keywords:\n" + keywords)
    assert len(cfg.icp.keywords) == 5000
    nested_ok = "icp:\n  keywords: " + "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3) + "\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(nested_ok)              # within the depth bound: refused for its type only
    assert "levels" not in caught.value.render()


def test_a_file_over_the_size_bound_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as handle:
        handle.write(b"icp:\n  keywords:\n")
        handle.seek(50 * 1024 * 1024)
        handle.write(b"    - x\n")           # a sparse 50 MB file
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert time.perf_counter() - started < 2
    assert f"at most {MAX_CONFIG_BYTES:,} bytes" in caught.value.render()
    assert "52,428,808 bytes" in caught.value.render()


def test_error_messages_quote_huge_input_briefly():
    with pytest.raises(ConfigError) as caught:
        parse_config("limits:\n  max_repos: " + "x" * 500_000 + "\n")
    assert len(caught.value.render()) < 500


def test_thousands_of_unknown_keys_render_as_a_bounded_list():
    text = "limits:\n" + "".join(f"  unknown_{i}: 1\n" for i in range(3000))
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    rendered = caught.value.render()
    assert len(caught.value.issues) == 3000
    assert rendered.count("\n") < 60 and "2,950 more" in rendered


# -- every command that loads the config ------------------------------------------------------

COMMANDS = [
    ["config", "validate"],
    ["threads"],
    ["run", "cmo", "--goal", "g"],
    ["show", "cmo-20260101-000000-000001"],
    ["history", "cmo-20260101-000000-000001"],
    ["approve", "cmo-20260101-000000-000001", "--all"],
    ["resume", "cmo-20260101-000000-000001"],
    ["prune", "--keep", "2"],
    ["suppress", "list"],
    [],                                      # the console: refused before it opens
]


@pytest.mark.parametrize("name", ["alias bomb", "20,000-deep flow", "duplicate key"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:1]) or "console")
def test_every_command_refuses_a_hostile_config_with_exit_2(tmp_path, monkeypatch, capsys,
                                                            command, name):
    monkeypatch.chdir(tmp_path)
    text, fragment, line = HOSTILE[name]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["--config", str(path), *command]
    if command[:2] == ["config", "validate"]:
        argv = [*command, str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and fragment in err and f"line {line}" in err, err
    assert path.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == before   # no database, no outbox


def test_config_validate_json_lists_the_refusal(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(alias_bomb())
    assert main(["config", "validate", str(path), "--json"]) == 2
    out = capsys.readouterr().out
    assert '"valid": false' in out and "values" in out
