"""The one export guard (planner/spreadsheets.py): a CSV cell is shown as typed and never run as
a formula; an XLSX keeps every text exactly, as a string cell, and numbers as numbers. Read back
with the csv module and openpyxl, as a spreadsheet app would open them."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from planner.spreadsheets import LEADING_SPACES, runs_as_formula, to_csv, to_xlsx

STARTS = ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]
FORMULAS = [start + "HYPERLINK(\"http://x\",\"hi\")" for start in STARTS] + [
    "  =1+1", "\u3000＝1+1", " \t@x", "-3", "+86 138 0013 8000", "=cmd|' /C calc'!A0"]
HARMLESS = ["王小明", "Alice Chen", "a=b", "1-2", "x@example.com", "", "'quoted"]


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_a_csv_cell_is_shown_as_typed_and_never_run():
    table = read_csv(to_csv(["-header", "n"], [[text, 7] for text in FORMULAS + HARMLESS]
                            + [[None, -3], [3.5, 0]]))
    assert table[0] == ["'-header", "n"]
    cells = [row[0] for row in table[1:]]
    assert cells[:len(FORMULAS)] == ["'" + text for text in FORMULAS]
    assert cells[len(FORMULAS):] == [*HARMLESS, "", "3.5"]
    assert [row[1] for row in table[-2:]] == ["-3", "0"]  # numbers are not text: left alone


def test_xlsx_keeps_every_text_exactly_as_a_string_cell():
    texts = FORMULAS + HARMLESS
    sheet = load_workbook(io.BytesIO(to_xlsx(["=header", "n"], [[text, 7] for text in texts]
                                             + [[None, -3], [3.5, 0]], "Night: 1/2"))).active
    assert sheet.title == "Night  1 2"
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == ["=header", "n"]
    text_cells = [row[0] for row in rows[:len(texts) + 1]]
    # XML reads a carriage return as a line feed: the one change, written so on purpose.
    assert [cell.value for cell in text_cells[1:]] == [
        text.replace("\r", "\n") or None for text in texts]
    assert {cell.data_type for cell in text_cells if cell.value} == {"s"}
    numbers = [(cell.value, cell.data_type) for row in rows[1:] for cell in row[1:]]
    assert set(numbers) == {(7, "n"), (-3, "n"), (0, "n")}
    assert (rows[-1][0].value, rows[-1][0].data_type) == (3.5, "n")


def test_xlsx_replaces_only_what_xml_cannot_hold():
    sheet = load_workbook(io.BytesIO(to_xlsx(["h"], [["bell\x07name\tand tab\r\nline"]],
                                             "x"))).active
    assert sheet["A2"].value == "bell\ufffdname\tand tab\nline"


@given(st.text(alphabet="".join(STARTS) + LEADING_SPACES + "a1=", max_size=6),
       st.sampled_from(STARTS))
def test_any_formula_start_after_spaces_is_defused(tail: str, start: str):
    for spaces in ("", " ", "\u3000 "):
        text = spaces + start + tail
        assert runs_as_formula(text)
        [_header, [cell]] = read_csv(to_csv(["h"], [[text]]))
        assert cell == "'" + text
