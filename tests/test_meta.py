"""crawler/text/meta.py: the author from JSON-LD, meta tags or the byline, without prefixes."""

from __future__ import annotations

import json

import pytest

from crawler.text.extract import parse_tree
from crawler.text.meta import clean_author, find_author

TITLE = "تركيا تختبر بنجاح طائرة مسيرة قتالية بمحرك نفاث"


def page(head: str = "", byline: str = "") -> object:
    return parse_tree(f"<html><head>{head}</head><body><h1>{TITLE}</h1>{byline}"
                      "<p>أجرت شركة بايكار التركية اختبار طيران ناجحا لطائرة مسيرة قتالية جديدة تعمل بمحرك نفاث.</p>"
                      "</body></html>")


@pytest.mark.parametrize("raw, name", [
    ("بواسطة هيئة التحرير", "هيئة التحرير"),
    ("بقلم: أحمد علي", "أحمد علي"),
    ("كتب: محمد حسن", "محمد حسن"),
    ("كتب - محمد حسن", "محمد حسن"),
    ("كتبت: سارة نوري", "سارة نوري"),
    ("حوار: آسيا العتروس", "آسيا العتروس"),
    ("المحرر: سامي بن عمر", "سامي بن عمر"),
    ("نشر بواسطة علي الربيعي", "علي الربيعي"),
    ("Posted by Jane Doe", "Jane Doe"),
    ("By John Smith", "John Smith"),
    ("أحمد علي - 5 سبتمبر 2023", "أحمد علي"),
    ("Byron Smith", "Byron Smith"),
    ("https://www.facebook.com/someone", ""),
    ("", ""),
])
def test_clean_author(raw, name):
    assert clean_author(raw) == name


def test_json_ld_person():
    ld = {"@type": "NewsArticle", "author": [{"@type": "Person", "name": "مراد أوغلو"}]}
    tree = page(f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>')
    assert find_author(tree, None, title=TITLE) == "مراد أوغلو"


def test_publisher_as_author_is_no_author():
    ld = {"@type": "NewsArticle", "author": {"@type": "Organization", "name": "الدفاع اليوم"}}
    tree = page(f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>')
    assert find_author(tree, None, title=TITLE, site_name="الدفاع اليوم") == ""


def test_meta_author():
    tree = page('<meta name="author" content="بقلم: يوسف بنعلي">')
    assert find_author(tree, None, title=TITLE) == "يوسف بنعلي"


def test_byline_under_headline():
    tree = page(byline="<div>بواسطة هيئة التحرير</div>")
    assert find_author(tree, None, title=TITLE) == "هيئة التحرير"


def test_sentence_starting_with_wrote_is_not_a_byline():
    tree = page(byline="<p>كتب الرئيس رسالة</p>")
    assert find_author(tree, None, title=TITLE) == ""


def test_unknown_author_is_empty():
    assert find_author(page(), None, title=TITLE) == ""
