"""Fuzz corpus for config files (issue 15): random bytes, YAML-ish text, mutated valid configs,
generated documents with wrong types and unknown keys, alias bombs, deep nesting and huge scalars.

Whatever the file holds, the loader accepts it (a Config) or refuses it (ConfigError whose every
problem has a message); nothing else escapes. `cmo config validate` exits 0 or 2 without a
traceback, and neither validating nor a refused save changes the file (same bytes, same mtime, no
backup or temp file left behind).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli import main
from graphs.core.config import Config, ConfigError, parse_config
from graphs.core.config_file import save_config_text, stamp_of
from graphs.core.config_yaml import MAX_CONFIG_BYTES, MAX_DEPTH

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = (ROOT / "config.yaml").read_text()
FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

YAML_CHARS = list(":-[]{}&*!|>#'\",?%@`\\ \t\n") + list("abcxyz019_.") + ["<<", "---", "...",
                                                                         "\r", "\x00", "é", "\ufeff"]
SECTIONS = list(Config.model_fields)
KEYS = sorted({key for name in SECTIONS if name != "source"
               for key in type(getattr(Config(), name)).model_fields} | {"unknown", "x"})

yamlish = st.lists(st.sampled_from(YAML_CHARS), max_size=300).map("".join)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True), st.text(max_size=40),
                    st.sampled_from(["100..2000", "2000..100", "live", "dry_run", "sandbox",
                                     "openai", "", "-1", "1e999"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=20)
documents = st.dictionaries(st.sampled_from(SECTIONS + ["extra"]),
                            st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values,
                                                              max_size=6)), max_size=6)


@st.composite
def mutated_bundled(draw) -> str:
    """The bundled, valid config with a few random edits (delete, insert, duplicate, indent)."""
    lines = BUNDLED.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "indent", "dedent",
                                     "replace_value"]))
        if kind == "delete":
            del lines[at]
        elif kind == "insert":
            lines.insert(at, draw(yamlish))
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        elif kind == "indent":
            lines[at] = "  " + lines[at]
        elif kind == "dedent":
            lines[at] = lines[at][2:]
        elif ":" in lines[at]:
            key = lines[at].split(":", 1)[0]
            lines[at] = f"{key}: {draw(yamlish.filter(lambda s: chr(10) not in s))}"
        if not lines:
            lines = [""]
    return "\n".join(lines)


@st.composite
def bombs(draw) -> str:
    levels, width = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    where = draw(st.sampled_from(["icp:\n  keywords: ", "limits: ", "icp:\n  topics:\n    - "]))
    return "\n".join(lines) + f"\n{where}*a{levels - 1}\n"


@st.composite
def deep(draw) -> str:
    depth = draw(st.one_of(st.integers(1, MAX_DEPTH + 2), st.integers(MAX_DEPTH, 30_000)))
    style = draw(st.sampled_from(["flow_list", "flow_map", "block", "mixed"]))
    if style == "flow_list":
        return "icp:\n  keywords: " + "[" * depth + "]" * depth + "\n"
    if style == "flow_map":
        return "icp: " + "{a: " * depth + "1" + "}" * depth + "\n"
    if style == "block":
        return "".join("  " * level + f"k{level}:\n" for level in range(min(depth, 3000)))
    return "".join("  " * level + ("- " if level % 2 else f"k{level}:") + "\n"
                   for level in range(min(depth, 3000)))


@st.composite
def huge(draw) -> str:
    size = draw(st.sampled_from([10_000, 200_000, MAX_CONFIG_BYTES - 40, MAX_CONFIG_BYTES + 1,
                                 3 * MAX_CONFIG_BYTES]))
    kind = draw(st.sampled_from(["scalar", "key", "list", "int"]))
    if kind == "scalar":
        return "personalize:\n  body: " + "x" * size + "\n"
    if kind == "key":
        return "limits:\n  " + "k" * size + ": 1\n"
    if kind == "int":
        return "limits:\n  max_repos: " + "9" * min(size, 20_000) + "\n"
    return "icp:\n  keywords: [" + ", ".join(["a"] * (size // 3)) + "]\n"


CORPUS = st.one_of(
    st.binary(max_size=600).map(lambda data: data.decode("utf-8", "replace")),
    yamlish,
    mutated_bundled(),
    documents.map(lambda doc: yaml.safe_dump(doc, allow_unicode=True)),
    bombs(),
    deep(),
    huge(),
)


def check_text(text: str) -> None:
    try:
        config = parse_config(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.issues and all(str(issue.message).strip() for issue in exc.issues)
        assert len(exc.render()) < 20_000
        return
    assert isinstance(config, Config)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}


@FUZZ
@given(text=CORPUS)
def test_parse_accepts_or_refuses_cleanly(text):
    check_text(text)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=800), CORPUS.map(lambda t: t.encode("utf-8",
                                                                            "surrogatepass"))))
def test_cli_validate_exits_0_or_2_without_traceback_and_leaves_the_file(raw):
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        path = directory / "config.yaml"
        path.write_bytes(raw)
        before = snapshot(directory)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["config", "validate", str(path)])
        assert code in (0, 2), (code, err.getvalue()[-2000:])
        assert "Traceback" not in err.getvalue()
        if code == 2:
            assert "invalid configuration" in err.getvalue()
        assert snapshot(directory) == before


@FUZZ
@given(text=CORPUS)
def test_a_refused_save_leaves_the_file_byte_identical(text):
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        path = directory / "config.yaml"
        path.write_text(BUNDLED)
        os.chmod(path, 0o640)
        stamp = stamp_of(path)
        before = snapshot(directory)
        try:
            save_config_text(path, text, expected=stamp)
        except ConfigError:
            assert snapshot(directory) == before
        else:  # accepted: written whole, the old file kept as the backup
            assert path.read_bytes() == text.encode("utf-8")
            assert (directory / "config.yaml.bak").read_text() == BUNDLED
