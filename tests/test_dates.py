"""crawler/text/dates.py: feed > page metadata > date printed near the headline > nothing."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from crawler.text.dates import parse_machine_date, resolve_date
from crawler.text.extract import parse_tree

UTC = timezone.utc
FETCHED = datetime(2024, 2, 1, 12, 0, tzinfo=UTC)
TITLE = "الجيش اللبناني يتسلم مساعدات عسكرية أمريكية جديدة"
STORY = ("<p>تسلم الجيش اللبناني في مرفأ بيروت شحنة من المساعدات العسكرية بتاريخ 5 سبتمبر 2023، "
         "وجرى التسليم في حضور السفيرة الأمريكية وممثل عن قائد الجيش وعدد من الضباط.</p>")


def page(head: str = "", dateline: str = "", body_extra: str = "") -> object:
    html = (f"<html><head><title>{TITLE}</title>{head}</head><body>"
            f"<div class='sidebar'><time datetime='2020-01-01T00:00:00Z'>آخر الأخبار</time></div>"
            f"<article><h1>{TITLE}</h1><div class='meta'>{dateline}</div>{STORY}{body_extra}</article>"
            f"<footer>جميع الحقوق محفوظة 2008</footer></body></html>")
    return parse_tree(html)


def resolve(tree, **kw):
    kw.setdefault("feed_date", None)
    kw.setdefault("tz", "Asia/Beirut")
    return resolve_date(tree, "", fetched_at=FETCHED, title=TITLE, **kw)


def test_feed_date_wins():
    feed = datetime(2023, 9, 5, 7, 0, tzinfo=UTC)
    tree = page('<meta property="article:published_time" content="2023-09-06T10:00:00+03:00">')
    assert resolve(tree, feed_date=feed) == (feed, "feed")


def test_article_published_time():
    tree = page('<meta property="article:published_time" content="2023-09-05T10:00:00+03:00">',
                dateline="الثلاثاء، 6 أيلول 2023")
    assert resolve(tree) == (datetime(2023, 9, 5, 7, 0, tzinfo=UTC), "meta")


def test_json_ld_date_published():
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": TITLE,
          "datePublished": "2023-09-05T10:00:00+03:00", "dateModified": "2023-09-07T10:00:00+03:00"}
    tree = page(f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>')
    assert resolve(tree) == (datetime(2023, 9, 5, 7, 0, tzinfo=UTC), "meta")


def test_json_ld_graph():
    ld = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "x"},
        {"@type": "Article", "datePublished": "2023-09-05T07:00:00Z"}]}
    tree = page(f'<script type="application/ld+json">{json.dumps(ld)}</script>')
    assert resolve(tree)[0] == datetime(2023, 9, 5, 7, 0, tzinfo=UTC)


def test_itemprop_and_time_of_the_article():
    tree = page(dateline='<time itemprop="datePublished" datetime="2023-09-05T10:00:00+03:00">5 سبتمبر</time>')
    assert resolve(tree) == (datetime(2023, 9, 5, 7, 0, tzinfo=UTC), "meta")
    tree = page(dateline='<time datetime="2023-09-05T10:00">5 سبتمبر</time>')  # no zone: source's
    assert resolve(tree) == (datetime(2023, 9, 5, 7, 0, tzinfo=UTC), "meta")


def test_microformat_published():
    tree = page(body_extra='<div class="post-footer"><abbr class="published" title="2023-09-05T10:00:00+03:00">10:00 ص</abbr></div>',
                dateline="الثلاثاء، 5 أيلول 2023")
    assert resolve(tree) == (datetime(2023, 9, 5, 7, 0, tzinfo=UTC), "meta")


def test_sidebar_time_is_not_the_story_date():
    assert resolve(page()) == (None, "none")


def test_dateline_near_headline():
    tree = page(dateline="الثلاثاء، 5 أيلول 2023 - 10:30 ص")
    assert resolve(tree) == (datetime(2023, 9, 5, 7, 30, tzinfo=UTC), "text")


def test_relative_dateline_uses_fetch_time():
    tree = page(dateline="منذ 3 ساعات")
    assert resolve(tree) == (datetime(2024, 2, 1, 9, 0, tzinfo=UTC), "text")


def test_date_inside_story_paragraph_is_not_a_publication_date():
    # htmldate returns 2023-01-01 for such a page; the right answer is "unknown"
    assert resolve(page()) == (None, "none")


def test_month_only_dateline_is_not_stored():
    assert resolve(page(dateline="أيلول 2023")) == (None, "none")


def test_future_meta_date_ignored():
    tree = page('<meta property="article:published_time" content="2030-01-01T00:00:00Z">',
                dateline="5 أيلول 2023")
    assert resolve(tree)[1] == "text"


@pytest.mark.parametrize("value, expected", [
    ("2023-09-05T10:00:00+03:00", datetime(2023, 9, 5, 7, 0, tzinfo=UTC)),
    ("2023-09-05T07:00:00Z", datetime(2023, 9, 5, 7, 0, tzinfo=UTC)),
    ("2023-09-05T10:00:00.123456+0300", datetime(2023, 9, 5, 7, 0, tzinfo=UTC)),
    ("2023-09-05 10:00:00", datetime(2023, 9, 5, 7, 0, tzinfo=UTC)),
    ("Tue, 05 Sep 2023 10:00:00 +0300", datetime(2023, 9, 5, 7, 0, tzinfo=UTC)),
    ("الثلاثاء، 5 أيلول 2023 10:00", datetime(2023, 9, 5, 7, 0, tzinfo=UTC)),
    ("not a date", None),
])
def test_machine_dates(value, expected):
    assert parse_machine_date(value, "Asia/Riyadh") == expected
