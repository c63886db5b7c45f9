"""storage/export.py writers, without a database: RFC 4180 CSV, Excel-safe CSV, JSONL."""

from __future__ import annotations

import csv
import io
import json

from storage.export import COLUMNS, neutralise_formula, write_csv, write_jsonl

ROW = {"id": 7, "source": "alpha", "url": "http://alpha.test/a", "title": 'عنوان "مقتبس"، وفاصلة',
       "published_at": "2023-09-05T07:00:00+00:00", "author": None, "language": "ar",
       "text": "فقرة أولى\n\nفقرة ثانية, مع فاصلة", "duplicate_of": None,
       "fetched_at": "2023-09-05T08:00:00+00:00"}


def test_csv_is_rfc4180_and_round_trips() -> None:
    out = io.StringIO(newline="")
    assert write_csv([ROW, {**ROW, "id": 8, "duplicate_of": 7}], out) == 2
    raw = out.getvalue()
    assert raw.startswith(",".join(COLUMNS) + "\r\n"), "header first, CRLF line ends"
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert [r["id"] for r in rows] == ["7", "8"]
    assert rows[0]["title"] == ROW["title"] and rows[0]["text"] == ROW["text"]
    assert rows[0]["author"] == "" and rows[0]["duplicate_of"] == "" and rows[1]["duplicate_of"] == "7"


def test_excel_csv_has_a_bom_and_no_formulas() -> None:
    out = io.StringIO(newline="")
    write_csv([{**ROW, "title": "=HYPERLINK(\"http://evil\")", "author": "+966 555", "text": "-1"}], out, excel=True)
    raw = out.getvalue()
    assert raw.startswith("\ufeff")
    row = next(csv.DictReader(io.StringIO(raw.lstrip("\ufeff"), newline="")))
    assert row["title"].startswith("'=") and row["author"] == "'+966 555" and row["text"] == "'-1"
    assert neutralise_formula("عادي") == "عادي" and neutralise_formula("@x") == "'@x"


def test_jsonl_one_object_per_line_in_column_order() -> None:
    out = io.StringIO()
    assert write_jsonl([ROW, ROW], out) == 2
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    obj = json.loads(lines[0])
    assert list(obj) == COLUMNS and obj["title"] == ROW["title"]
    assert "\\u" not in lines[0], "Arabic is written as UTF-8, not escaped"


def test_writers_stream_from_an_iterator() -> None:
    def rows():  # a generator: the writers never need the whole export in memory
        for i in range(1000):
            yield {**ROW, "id": i}
    assert write_csv(rows(), io.StringIO(newline="")) == 1000
    assert write_jsonl(rows(), io.StringIO()) == 1000
