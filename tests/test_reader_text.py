"""The reader's pure helpers: highlighting on the published spelling, snippets, Arabic
relative times and counted nouns, parameter parsing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crawler.text.highlight import first_lines, segments, snippet
from crawler.web.format import copies_label, relative_ar
from crawler.web.params import BadRequest, parse_list_params, parse_when
from storage.search import fts5_match, query_terms, tsquery

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def marked(text: str, q: str) -> list[str]:
    return [piece for piece, hit in segments(text, query_terms(q)) if hit]


def test_matches_are_marked_on_the_published_spelling():
    text = "أعلنت إسرائيل أن القُوّات الجويـــة ومصطفى، في المُنشأة."
    assert marked(text, "اسرائيل") == ["إسرائيل"]
    assert marked(text, "القوات الجويه") == ["القُوّات", "الجويـــة"]
    assert marked(text, "مصطفي") == []  # a clitic و is a different word, as in the index
    assert marked("قال مصطفى", "مصطفي") == ["مصطفى"]
    assert marked(text, "المنشاه") == ["المُنشأة"]
    assert "".join(p for p, _ in segments(text, query_terms("القوات"))) == text  # nothing lost


def test_words_match_whole_words_and_a_star_asks_for_a_prefix():
    assert marked("في الجيش وفيه صواريخ", "في") == ["في"]
    assert marked("صاروخية وصاروخ", "صاروخ") == []
    assert marked("صاروخية وصاروخ قال صاروخ", "صاروخ") == ["صاروخ"]
    assert marked("صاروخية وصاروخ", "صاروخ*") == ["صاروخية"]
    assert query_terms("صاروخ* في* إسرائيل") == ["صاروخ*", "في", "اسراييل"]
    assert fts5_match(query_terms("في صاروخ*")) == '"في" AND "صاروخ"*'
    assert tsquery(query_terms("في صاروخ*")) == "'في' & 'صاروخ':*"
    assert tsquery(["a", "b*"], any_term=True, weight="A") == "'a':A | 'b':*A"
    assert fts5_match(['a"b OR c']) == '"a""b OR c"'


def test_first_lines_and_snippet():
    text = "الفقرة الأولى قصيرة.\n\nالفقرة الثانية فيها كلمة إسرائيل."
    assert first_lines(text) == "الفقرة الأولى قصيرة."
    assert "إسرائيل" in snippet(text, query_terms("اسرائيل"))
    assert snippet(text, []) == first_lines(text)
    long = "كلمة " * 200
    assert len(first_lines(long)) <= 281 and first_lines(long).endswith("…")


@pytest.mark.parametrize("ago,expected", [
    (timedelta(seconds=20), "الآن"), (timedelta(minutes=1), "منذ دقيقة"),
    (timedelta(minutes=2), "منذ دقيقتين"), (timedelta(minutes=5), "منذ ٥ دقائق"),
    (timedelta(minutes=11), "منذ ١١ دقيقة"), (timedelta(hours=3), "منذ ٣ ساعات"),
    (timedelta(days=1, hours=2), "منذ يوم"), (timedelta(days=3), "منذ ٣ أيام"),
    (timedelta(days=40), "منذ شهر"), (timedelta(hours=-2), ""),
])
def test_relative_time_in_arabic(ago, expected):
    assert relative_ar(NOW - ago, NOW) == expected


def test_copies_label_counts_sources():
    assert copies_label(1) == "نُشر أيضًا في مصدر آخر"
    assert copies_label(2) == "نُشر أيضًا في مصدرين آخرين"
    assert copies_label(4) == "نُشر أيضًا في ٤ مصادر"
    assert copies_label(15) == "نُشر أيضًا في ١٥ مصدرًا"


def test_dates_in_parameters():
    assert parse_when("since", "2026-11-30") == datetime(2026, 11, 30, tzinfo=timezone.utc)
    assert parse_when("until", "2026-11-30", end=True) == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert parse_when("since", "2026-11-30T10:00:00+03:00") == datetime(2026, 11, 30, 7, tzinfo=timezone.utc)
    # a + left unencoded in a URL arrives as a space
    assert parse_when("since", "2026-11-30T10:00:00 03:00") == datetime(2026, 11, 30, 7, tzinfo=timezone.utc)
    with pytest.raises(BadRequest, match="since"):
        parse_when("since", "30/11/2026")


def test_list_parameters_defaults():
    p = parse_list_params({})
    assert (p.format, p.limit, p.sort, p.before, p.filters.q) == ("html", 30, "time", None, "")
    assert parse_list_params({"q": ["اسرائيل"]}).sort == "relevance"
    assert parse_list_params({"source": ["a", "b"]}).filters.sources == ("a", "b")
