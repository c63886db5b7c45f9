"""The labelled Arabic set: every page extracts to its expected story, title, date, author.

The set (tests/fixtures/quality/pages, built by make_fixtures.py) spans five site templates;
bench/quality.py prints the same figures side by side with bare trafilatura.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from crawler.text.extract import extract_record

PAGES = Path(__file__).resolve().parent / "fixtures" / "quality" / "pages"
NAMES = sorted(p.stem for p in PAGES.glob("*.html"))


def load(name: str) -> tuple[bytes, dict]:
    return (PAGES / f"{name}.html").read_bytes(), json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))


def extract(name: str):
    body, exp = load(name)
    rec = extract_record(body, exp["url"], timezone_name=exp["timezone"],
                         fetched_at=datetime.fromisoformat(exp["fetched_at"]))
    assert rec is not None
    return rec, exp


def test_set_is_large_and_varied():
    templates = Counter(load(n)[1]["template"] for n in NAMES)
    assert len(NAMES) >= 30 and len(templates) >= 5, templates


@pytest.mark.parametrize("name", NAMES)
def test_page(name):
    rec, exp = extract(name)
    assert rec.text.split("\n\n") == exp["paragraphs"]
    assert rec.title == exp["title"]
    assert rec.author == exp["author"]
    assert rec.language == "ar"
    assert rec.date_source == exp["date_source"]
    want = datetime.fromisoformat(exp["date"])
    if exp["date_precision"] == "day":
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(exp["timezone"])
        assert rec.published_at.astimezone(zone).date() == want.astimezone(zone).date()
    else:
        assert abs((rec.published_at - want).total_seconds()) <= 60
    assert rec.relevance is not None and rec.relevance >= 0.5  # all defense stories


def test_seed_page_is_the_seed_story():
    rec, exp = extract("seed-defense-arab")
    assert "العلاقات بين روسيا وكوريا الشمالية" in rec.text.split("\n\n")
    assert exp["title"] not in rec.text and "Facebook" not in rec.text and " . " not in rec.text
    assert rec.author == "هيئة التحرير"
