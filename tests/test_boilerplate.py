"""Learned boilerplate: lines recurring across a source's stories are learned in SQL and stripped."""

from __future__ import annotations

import uuid

import pytest

from crawler.text.learned import candidate_lines, line_hash, line_key, strip_learned
from crawler.text.clean import clean_text
from storage.learned import learned_lines, record_lines
from storage.db import open_db

PROMO = "لمتابعة آخر أخبار الدفاع والتسليح اشترك في قناة الموقع الرسمية"
SIGN = "المصدر: الموقع العربي للدفاع والتسليح - خاص"


def story(i: int, *extra: str) -> str:
    body = [f"الفقرة الأولى من الخبر رقم {i} عن صفقة أسلحة جديدة بين البلدين.",
            f"الفقرة الثانية من الخبر رقم {i} وتتناول تفاصيل المناورات العسكرية المشتركة."]
    return "\n\n".join([*body, *extra])


def test_candidates_are_distinct_mid_length_lines():
    text = "\n\n".join([SIGN, SIGN, "قصير", "x " * 400])
    cands = candidate_lines(text)
    assert list(cands.values()) == [SIGN]  # once per story, short and very long lines skipped
    assert line_hash(SIGN) in cands


def test_key_is_normalised():
    assert line_key("المصدر:  الموقعُ العربي") == line_key("المصدر: الموقع العربى")


def test_strip_learned():
    assert strip_learned(story(1, SIGN), {SIGN}) == story(1)


@pytest.fixture
def sqlite_db(tmp_path):
    engine, Session = open_db(f"sqlite:///{tmp_path}/bp.db")
    yield Session
    engine.dispose()


def _learns_after_threshold(Session, source: str) -> None:
    with Session() as s:
        for i in range(4):
            record_lines(s, source, [story(i, SIGN, PROMO if i == 0 else "")])
        s.commit()
    with Session() as s:
        assert learned_lines(s, source, threshold=5) == set()  # 4 stories: not yet
        record_lines(s, source, [story(9, SIGN), story(10)])  # a batch of two stories
        s.commit()
    with Session() as s:
        learned = learned_lines(s, source, threshold=5)
        assert learned == {SIGN}  # PROMO occurred once: never learned
        assert learned_lines(s, "other-" + source, threshold=5) == set()  # per source
    text = clean_text(story(11, SIGN), learned=learned)
    assert SIGN not in text and "الفقرة الأولى" in text


def test_learning_on_sqlite(sqlite_db):
    _learns_after_threshold(sqlite_db, "src-" + uuid.uuid4().hex[:8])


def test_threshold_is_at_least_two(sqlite_db):
    source = "src-" + uuid.uuid4().hex[:8]
    with sqlite_db() as s:
        record_lines(s, source, [story(1, PROMO)], threshold=1)
        s.commit()
        assert learned_lines(s, source, threshold=1) == set()


def test_repeated_line_inside_one_story_counts_once(sqlite_db):
    source = "src-" + uuid.uuid4().hex[:8]
    with sqlite_db() as s:
        record_lines(s, source, [story(1, *([SIGN] * 6))])
        s.commit()
        assert learned_lines(s, source, threshold=2) == set()


@pytest.mark.postgres
def test_learning_on_postgresql(pg_schema_url):
    engine, Session = open_db(pg_schema_url)
    try:
        _learns_after_threshold(Session, "src-" + uuid.uuid4().hex[:8])
    finally:
        engine.dispose()
