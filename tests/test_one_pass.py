"""crawler/text/extract.py: a page is parsed once, read once, handed to trafilatura as a tree.

What these guard is cost (bench/throughput.py measures it), so they count the work instead
of timing it: one JSON-LD parse per block, no deep copy, trafilatura given the tree.
"""

from __future__ import annotations

import copy
import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import crawler.text.extract as extract_mod
import crawler.text.facts as facts_mod
from crawler.text.extract import extract_record, looks_like_menu

TITLE = "تركيا تختبر بنجاح طائرة مسيرة قتالية بمحرك نفاث"
BODY = ("أجرت شركة بايكار التركية اختبار طيران ناجحا لطائرة مسيرة قتالية جديدة تعمل بمحرك نفاث، "
        "وقالت الشركة إن الطائرة حلقت أربعين دقيقة فوق منطقة الاختبار قبل أن تهبط بسلام. ")
LD = {"@type": "NewsArticle", "headline": TITLE, "datePublished": "2023-09-05T10:00:00+03:00",
      "author": {"@type": "Person", "name": "مراد أوغلو"}, "publisher": {"name": "الدفاع اليوم"}}
PAGE = (f'<html><head><title>{TITLE} - الدفاع اليوم</title>'
        f'<meta property="og:title" content="{TITLE}">'
        f'<script type="application/ld+json">{json.dumps(LD, ensure_ascii=False)}</script></head>'
        f'<body><article><h1>{TITLE}</h1><p>{BODY * 3}</p><p>{BODY * 2}</p></article></body></html>').encode()
ZYTE_MENU_PAGE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "zyte-article-benchmark" / "html"
                  / "f6ac15a4d98511396da23e4428deb5605422b1c8bbc8284e771f6896bdccf57f.html.gz")


def test_json_ld_parsed_once_and_no_deep_copy(monkeypatch):
    loads, deep = [], []
    real_loads, real_deepcopy = json.loads, copy.deepcopy
    monkeypatch.setattr(facts_mod.json, "loads", lambda s, *a, **k: loads.append(1) or real_loads(s, *a, **k))
    monkeypatch.setattr(copy, "deepcopy", lambda x, *a: deep.append(1) or real_deepcopy(x, *a))
    rec = extract_record(PAGE, "https://example.com/a", fetched_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert rec is not None and rec.author == "مراد أوغلو" and rec.date_source == "meta"
    assert len(loads) == 1  # title, site name, date and author all read the one parse
    assert deep == []  # the tree is prepared in place; trafilatura copies what it needs


def test_trafilatura_is_given_the_tree(monkeypatch):
    seen = []
    real = extract_mod.bare_extraction
    monkeypatch.setattr(extract_mod, "bare_extraction",
                        lambda content, **kw: seen.append(type(content).__name__) or real(content, **kw))
    assert extract_record(PAGE, "https://example.com/a") is not None
    assert seen == ["HtmlElement"]  # no second parse of the bytes inside trafilatura


def test_menu_answer_is_not_a_story():
    story = "\n".join(f"{BODY} {i}" for i in range(30))
    menu = "\n".join(["الرئيسية", "أخبار", "رياضة", "اتصل بنا"] * 8)
    assert looks_like_menu(menu)
    assert not looks_like_menu(story)
    assert not looks_like_menu("\n".join(["قصير", "سطر"] * 5))  # too few lines to judge


@pytest.mark.skipif(not ZYTE_MENU_PAGE.exists(), reason="shared Zyte pages not beside the checkout")
def test_page_fast_mode_reads_as_a_menu_gets_the_full_pass():
    # On this page trafilatura's fast mode returns the site's navigation (9 486 chars of
    # one- to three-word lines); its readability comparison finds the 600-char story.
    rec = extract_record(gzip.decompress(ZYTE_MENU_PAGE.read_bytes()), "https://example.com/")
    assert rec is not None and len(rec.text) < 2000 and "Ouvidoria" not in rec.text


QUALITY_PAGES = sorted((Path(__file__).resolve().parent / "fixtures" / "quality" / "pages").glob("*.html"))


@pytest.mark.parametrize("path", QUALITY_PAGES[:40], ids=lambda p: p.stem)
def test_worker_search_forms_are_what_storage_would_fold(path):
    """The worker hands storage the folded headline and text (extra["search"]), made from
    the normalised paragraphs cleaning kept: they must be exactly what storage/search.py's
    fold gives for the stored title and text, or search would miss stories."""
    from crawler.items import Page, SourceRules
    from crawler.text.page import process_page
    from storage.search import fold, search_columns

    page = Page("q", "https://example.com/" + path.stem, "https://example.com/" + path.stem,
                path.read_bytes(), None, datetime(2024, 1, 1, tzinfo=timezone.utc))
    res = process_page(page, SourceRules("q", relevance_filter=False))
    assert res.status == "ok", res.error
    rec = res.record
    assert rec.extra["search"] == (fold(rec.title), fold(rec.text))
    assert search_columns(rec.title, rec.text, rec.extra["search"]) == search_columns(rec.title, rec.text)


def test_search_forms_of_an_oversized_text_are_cut_like_fold():
    from crawler.text.arabic import normalize
    from crawler.text.folding import MAX_SEARCH_CHARS, fold, search_forms

    lines = ["الجيش " * 20 + str(i) for i in range(3000)]
    text = "\n\n".join(lines)
    assert len(text) > MAX_SEARCH_CHARS
    got = search_forms("عنوان", text, normalize("عنوان"), [normalize(x) for x in lines])
    assert got == (fold("عنوان"), fold(text))
    assert len(got[1]) <= MAX_SEARCH_CHARS
