"""Unit tests for module_utils/textfmt.py: the terminal block the report actions print (show_table)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import printable, terminal_block, text_table


def test_a_table_is_printed_line_for_line():
    lines = text_table(["host", "offset"], [["web-1", "+120.000 s +/- 120.000 s"], ["db", "-3.000 s"]])
    text = "Title\n\n" + "\n".join(lines) + "\n"
    assert terminal_block(text) == text.rstrip("\n")


# (text, block): what the terminal gets
CASES = [
    ("a  \nb\n\n", "a\nb"),                    # trailing blanks and the final newline(s) go, the display adds one
    ("x\x1b[2Jy\n", printable("x\x1b[2Jy")),   # a control sequence is shown escaped, never run
    ("r\u202eevil\n", printable("r\u202eevil")),  # a bidi override cannot reorder a row
    ("", ""),
]


def test_cases():
    for text, block in CASES:
        assert terminal_block(text) == block, text


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=40),
                max_size=8))
def test_one_printable_line_per_line(lines):
    block = terminal_block("\n".join(lines))
    assert block.count("\n") <= max(len(lines) - 1, 0)  # no line break added, none let through
    assert all(line == printable(line) for line in block.split("\n"))
