"""`defnews extract FILE --url URL --json` on the saved real Arabic pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_defnews

REAL = ROOT.parent / "shared" / "data" / "real-arabic"
COLUMNS = ["id", "source", "url", "title", "published_at", "author", "language", "text",
           "duplicate_of", "fetched_at"]


def _real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared data set sits beside the checkout)")
    return path


def _extract(path: Path, url: str) -> dict:
    r = run_defnews("extract", str(path), "--url", url, "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert list(obj)[:10] == COLUMNS and "relevance" in obj
    return obj


def test_extract_cnn_arabic():
    meta = json.loads(_real("arabic.cnn.com-syria-clashes.metadata.json").read_text(encoding="utf-8"))
    expected = _real("arabic.cnn.com-syria-clashes.expected.txt").read_text(encoding="utf-8")
    obj = _extract(_real("arabic.cnn.com-syria-clashes.html"), meta["url"])
    assert obj["title"] == meta["title"]
    assert obj["language"] == "ar"
    assert obj["url"] == meta["url"]
    first = next(line for line in expected.splitlines() if line.strip())
    assert first.strip()[:60] in obj["text"]


def test_extract_lbc_gzipped_page():
    exp = json.loads(_real("lbcgroup.tv.expected.json").read_text(encoding="utf-8"))["V1"]
    obj = _extract(_real("lbcgroup.tv-2026-01-08.html.gz"), "https://www.lbcgroup.tv/news/x/ar")
    assert obj["title"] == exp["title"]
    assert obj["language"] == "ar"
    for para in exp["body"]["sections"][0]["paragraphs"]:
        assert para in obj["text"]
    assert obj["published_at"].startswith("2026-01-08")


def test_extract_assabah():
    exp = json.loads(_real("assabah.com.tn-article.expected.json").read_text(encoding="utf-8"))
    obj = _extract(_real("assabah.com.tn-article.html"), exp["url"])
    assert obj["language"] == "ar"
    for snippet in exp["with"]:
        assert snippet in obj["text"]
    for snippet in exp["without"]:
        assert snippet not in obj["text"]


def test_extract_unreadable_file_exits_2(tmp_path):
    r = run_defnews("extract", str(tmp_path / "missing.html"), "--url", "https://a.example/x", timeout=60)
    assert r.returncode == 2 and "missing.html" in r.stderr


def test_extract_url_fetches_through_scrapy(web, tmp_path):
    from tests.web.fixtureweb import ALPHA_ARTICLES

    w, sites = web
    a = ALPHA_ARTICLES[1]
    r = run_defnews("extract", sites["alpha"].url(a.path), "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["title"] == a.title and obj["language"] == "ar"
    assert obj["text"].split("\n\n") == list(a.paragraphs)
    assert w.hits(sites["alpha"].host, "/robots.txt"), "robots.txt asked first"


def test_extract_url_unreachable_exits_1():
    r = run_defnews("extract", "http://127.0.0.1:9/nothing", "--json", timeout=120)
    assert r.returncode == 1 and "127.0.0.1:9" in r.stderr


def test_extract_explain_prints_the_cleaning_trace():
    """--explain goes through extract_page (the crawl's path) with a trace collector."""
    page = ROOT / "tests" / "fixtures" / "quality" / "unseen" / "asp-table-algeria-submarines.html"
    r = run_defnews("extract", str(page), "--url", "https://x.example/a", "--json", "--explain", timeout=120)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["explain_cleaning"]
    assert rows[0].startswith("== cleaning") and rows[-1].startswith("-- ")
    assert "date from: text" in rows[-1]
    assert any(x.startswith("keep") for x in rows[1:-1])
