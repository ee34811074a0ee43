"""Make untrusted text (GitHub bios, names, descriptions, email bodies) safe to print on a terminal.

`clean_text` removes terminal control sequences and control characters; it does not interpret or
escape markup (the console renders text as data, never as markup). Bidi marks and emoji are kept:
they are text, and removing them would corrupt right-to-left names.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"

# Escape sequences, in 7-bit (ESC x) and 8-bit (C1) forms. Only terminated sequences are matched:
# a stray ESC is removed below with the other controls, which leaves its tail as inert text.
_ST = r"(?:\x1b\\|\x9c)"
_SEQUENCES = re.compile(
    "|".join(
        [
            r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]",                       # CSI: colours, cursor moves
            r"(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|" + _ST + ")",      # OSC: titles, hyperlinks
            r"(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*" + _ST,      # DCS / SOS / PM / APC
            r"\x1b[ -/]*[0-~]",                                          # other ESC sequences
        ]
    )
)
# C0 except \t and \n, DEL, and C1.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NEEDS_WORK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r\n?")
_WHITESPACE_RUNS = re.compile(r"[\n\t]+")


def truncate(s: str, max_len: int | None) -> str:
    """Cut to at most `max_len` characters, marking the cut with an ellipsis."""
    if max_len is None or len(s) <= max_len:
        return s
    if max_len <= 0:
        return ""
    return s[: max_len - 1] + ELLIPSIS


def clean_text(s: str, max_len: int | None = None) -> str:
    """Strip ESC/CSI/OSC/DCS sequences and C0/C1 controls (keeping \\n and \\t); optionally truncate.

    Carriage returns become newlines (a bare CR would let text overwrite the start of its line).
    Non-strings (None, numbers) are rendered with `str`, None as "".
    """
    if not isinstance(s, str):
        s = "" if s is None else str(s)
    if _NEEDS_WORK.search(s) is not None:  # the common case: nothing to do
        s = _LINE_BREAKS.sub("\n", s)
        s = _SEQUENCES.sub("", s)
        s = _CONTROLS.sub("", s)
    return truncate(s, max_len)


def one_line(s: str, max_len: int | None = None) -> str:
    """`clean_text` for a single table cell or log line: newlines and tabs become single spaces."""
    return truncate(_WHITESPACE_RUNS.sub(" ", clean_text(s)), max_len)
