"""The fuzz corpus for operator inputs other than config files (issue 15): answer files, review
filters, suppression imports (thread and checkpoint ids: tests/test_hostile_ids.py). Each refusal
is clean (its exit code, a message naming what is wrong, no traceback) and changes no file.

Example counts are modest: the suite runs on 2 cores in CI."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from console.cli import main

# Each example runs a whole CLI command over a real database: 15 keep a test under ~8 s.
FUZZ = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=5)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=20)


def cli(argv: list[str], capsys, stdin: str | None = None, monkeypatch=None) -> tuple[int, str]:
    if stdin is not None:
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    return code, captured.err


# -- answer files (`cmo approve THREAD --answer-file FILE`) -------------------------------------

def _answer_cases(requests_count: int):
    return st.one_of(
        JSON.map(json.dumps),
        st.text(max_size=200),                                      # not JSON at all
        st.lists(JSON, min_size=requests_count + 1, max_size=requests_count + 3).map(json.dumps),
        st.sampled_from(["[" * 50_000, '{"a":' * 30_000, '{"d": 1, "d": 2}', "\ufeff[]", "",
                         json.dumps({"decisions": [{"type": "edit", "edited_action": {
                             "args": {"subject": "Hi\r\nBcc: x@evil.test"}}}]}),
                         json.dumps({"decisions": "all"}), "NaN", "1e999999"]),
    )


@pytest.fixture
def approval_db(ui_thread_copy):
    db, thread, cfg = ui_thread_copy
    from graphs.storage.inspect import thread_state

    count = len(thread_state(db, thread).interrupts[0]["value"])
    return db, thread, count


@given(data=st.data())
@FUZZ
def test_fuzzed_answer_files_are_refused_cleanly_and_change_nothing(
        data, approval_db, unchanged, capsys, tmp_path_factory):
    db, thread, count = approval_db
    text = data.draw(_answer_cases(count), label="answer file")
    folder = tmp_path_factory.mktemp("answer")
    path = folder / "answer.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with unchanged(db.parent):
        code, err = cli(["--db", str(db), "approve", thread, "--answer-file", str(path)], capsys)
    assert code in (2, 4), (code, err)
    assert err.startswith("cmo: ") and ("answer" in err or "refused" in err), err


def test_answer_on_stdin_and_unreadable_files_are_refused(approval_db, unchanged, capsys,
                                                          monkeypatch, tmp_path):
    db, thread, _ = approval_db
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(70 * 1024 * 1024)  # sparse: 70 MB of NULs without writing them
    with unchanged(db.parent):
        for argv, stdin in ((["--answer-file", "-"], "[" * 100_000),
                            (["--answer-file", str(binary)], None),
                            (["--answer-file", str(huge)], None),
                            (["--answer-file", str(tmp_path / "missing.json")], None),
                            (["--answer-file", str(tmp_path)], None)):
            code, err = cli(["--db", str(db), "approve", thread, *argv], capsys, stdin, monkeypatch)
            assert code == 4 and "cannot read the answer" in err, err
            assert len(err) < 2000


# -- review filters (graphs/approval/review_filter.py; `cmo approve --matching`) ---------------

FILTER_ALPHABET = string.printable + "\x00\x1b\u202e\u2028é≥"


@given(st.text(alphabet=FILTER_ALPHABET, max_size=80))
@example("icp>=" + "9" * 5000)
@example("icp>=99999999999999999999999")
@example('"unclosed')
@example("is:")
@example("gate:nope")
@example("icp>=x")
@settings(max_examples=400, deadline=None)
def test_any_filter_text_parses_or_is_refused_with_a_column(text):
    from graphs.approval.review_filter import DraftFilter, FilterError, parse_filter

    try:
        parsed = parse_filter(text)
    except FilterError as exc:
        assert str(exc) and (exc.position is None or exc.position >= 1)
    else:
        assert isinstance(parsed, DraftFilter)


@pytest.mark.parametrize("text", ["icp>=" + "9" * 5000, '"unclosed', "is:maybe", "gate:nope",
                                  "icp>=ten", "company:"])
def test_a_bad_matching_filter_exits_2_and_changes_nothing(text, approval_db, unchanged, capsys):
    db, thread, _ = approval_db
    with unchanged(db.parent):
        code, err = cli(["--db", str(db), "approve", thread, "--matching", text], capsys)
    assert code == 2 and err.startswith("cmo: --matching: "), err


# -- suppression imports (`cmo suppress import FILE`) ------------------------------------------

LINE = st.one_of(st.emails().map(str.lower), st.text(max_size=40),
                 st.sampled_from(["@example.com", "mailto:A@B.example", "# comment", "", "email,reason",
                                  "a@b.example,\x1b]52;c;aGk=\x07reason", '"a@b.example', "x" * 300]))


@given(lines=st.lists(LINE, max_size=12), bad=st.sampled_from(
    ["not an email", "a@", "@", "\x00", "\x1b[2J", "a b@c.example", "@@x.example"]),
    at=st.integers(0, 12))
@FUZZ
def test_a_suppression_import_with_a_bad_line_imports_nothing(lines, bad, at, tmp_path_factory,
                                                              unchanged, capsys):
    folder = tmp_path_factory.mktemp("suppress")
    db = folder / "cmo.sqlite"
    assert cli(["--db", str(db), "suppress", "add", "kept@example.com"], capsys)[0] == 0
    lines.insert(min(at, len(lines)), bad)
    source = folder / "in" / "list.csv"
    source.parent.mkdir()
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with unchanged(folder):
        code, err = cli(["--db", str(db), "suppress", "import", str(source)], capsys)
    assert code == 4, err
    assert f"{source}:" in err and "nothing imported" in err and "\x1b" not in err


def test_unreadable_suppression_files_are_refused_cleanly(tmp_path, unchanged, capsys):
    db = tmp_path / "cmo.sqlite"
    assert cli(["--db", str(db), "suppress", "add", "kept@example.com"], capsys)[0] == 0
    (tmp_path / "in").mkdir()
    cases = {"binary.csv": b"\xff\xfe\x00garbage\n", "field.csv": b"a@b.example," + b"x" * 200_000,
             "nul.csv": b"a@b.example\x00,x\n", "quote.csv": b'"a@b.example\nc@d.example\n'}
    for name, data in cases.items():
        (tmp_path / "in" / name).write_bytes(data)
    huge = tmp_path / "in" / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(70 * 1024 * 1024)  # sparse: 70 MB without writing them
    with unchanged(tmp_path):
        for name in cases:
            code, err = cli(["--db", str(db), "suppress", "import", str(tmp_path / "in" / name)],
                            capsys)
            assert code in (2, 4) and str(tmp_path / "in" / name) in err, (name, err)
        code, err = cli(["--db", str(db), "suppress", "import", str(tmp_path / "missing.csv")], capsys)
        assert code == 2 and "cannot read" in err
        code, err = cli(["--db", str(db), "suppress", "import", str(huge)], capsys)
        assert code == 2 and "larger than 64 MB" in err
