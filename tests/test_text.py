from graphs.core.text import clean_text, one_line, truncate
from graphs.sandbox.data import HOSTILE_STRINGS


def test_csi_colour_sequences_are_removed():
    assert clean_text("\x1b[31mred\x1b[0m") == "red"
    assert clean_text("a\x1b[1;38;5;196mb\x1b[2Kc\x1b[?25l") == "abc"


def test_osc_title_and_hyperlink_are_removed_with_both_terminators():
    assert clean_text("x\x1b]0;pwned\x07y") == "xy"
    assert clean_text("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\") == "click"


def test_dcs_and_other_string_sequences_are_removed():
    assert clean_text("a\x1bPq#0;2;0;0;0\x1b\\b") == "ab"
    assert clean_text("a\x1b_apc payload\x1b\\b") == "ab"
    assert clean_text("a\x1bcb\x1b(Bc") == "abc"  # RIS reset and charset selection


def test_eight_bit_c1_forms_and_stray_controls_are_removed():
    assert clean_text("x\x9b31my\x9d0;t\x07z") == "xyz"
    assert clean_text("a\x00b\x07c\x08d\x7fe\x85f") == "abcdef"


def test_unterminated_sequence_leaves_only_inert_text():
    out = clean_text("before\x1b]0;never terminated")
    assert "\x1b" not in out and out.startswith("before")


def test_newlines_and_tabs_kept_carriage_returns_become_newlines():
    assert clean_text("a\n\tb") == "a\n\tb"
    assert clean_text("a\r\nb\rc") == "a\nb\nc"


def test_markup_bidi_rtl_and_emoji_are_text_and_kept():
    for value in ["[@click=app.quit]", "[reverse]boom", "[/x]", "שלום", "مرحبا",
                  "invoice\u202egpj.exe", "🚀 👩\u200d💻"]:
        assert clean_text(value) == value


def test_truncation_marks_the_cut():
    assert clean_text("abcdef", 4) == "abc…"
    assert clean_text("abc", 3) == "abc"
    assert truncate("abc", 0) == ""
    assert len(clean_text("x" * 51_200, 200)) == 200


def test_one_line_flattens_after_cleaning():
    assert one_line("a\n\n\tb\x1b[0m c", 50) == "a b c"
    assert one_line("line1\nline2", 8) == "line1 l…"


def test_non_strings_are_rendered():
    assert clean_text(None) == ""
    assert clean_text(42) == "42"


def test_every_hostile_string_comes_out_free_of_controls():
    for value in HOSTILE_STRINGS:
        out = clean_text(value)
        assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in out), repr(value[:40])
        assert not any(0x7F <= ord(ch) <= 0x9F for ch in out), repr(value[:40])
