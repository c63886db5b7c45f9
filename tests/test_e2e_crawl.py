"""End to end: the real `defnews` command crawls the fixture web into SQL and exports it."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import run_defnews
from tests.web.fixtureweb import config_yaml, expected

BOILERPLATE = ("شارك:", "اقرأ أيضا", "جميع الحقوق", "فيسبوك", "بواسطة")


def _write_config(tmp_path: Path, sites, db_url: str) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(config_yaml(sites, db_url), encoding="utf-8")
    return cfg


def _rows(db: Path) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM stories ORDER BY id")]
    finally:
        con.close()


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    d = datetime.fromisoformat(value)
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _check_stories(rows: list[dict], sites) -> None:
    exp = expected(sites)
    urls = [r["url"] for r in rows]
    assert sorted(urls) == sorted(exp), "every reachable article stored exactly once"
    for r in rows:
        a = exp[r["url"]]
        assert r["title"] == a.title, r["url"]
        for p in a.paragraphs:
            assert p in r["text"], (r["url"], p)
        paragraphs = [p for p in r["text"].split("\n\n") if p.strip()]
        assert paragraphs == list(a.paragraphs), r["url"]
        for junk in BOILERPLATE:
            assert junk not in r["text"], (r["url"], junk)
        assert _utc(r["published_at"]) == a.published, r["url"]
        assert r["language"] == "ar"
        assert r["duplicate_of"] is None


@pytest.fixture
def crawled(web, tmp_path):
    w, sites = web
    db = tmp_path / "data" / "defnews.db"
    cfg = _write_config(tmp_path, sites, f"sqlite:///{db}")
    result = run_defnews("--config", str(cfg), "crawl")
    return w, sites, cfg, db, result


def test_crawl_stores_every_article_once(crawled):
    w, sites, cfg, db, result = crawled
    assert result.returncode == 0, result.stderr
    assert "alpha" in result.stdout and "beta" in result.stdout  # the summary table
    _check_stories(_rows(db), sites)


def test_relevance_filter_rejects_non_defense_stories(crawled):
    w, sites, cfg, db, result = crawled
    assert result.returncode == 0, result.stderr
    assert w.hits(sites["beta"].host, "/news.php?id=5"), "the sports story was fetched"
    assert not any(r["url"].endswith("id=5") for r in _rows(db)), "and not stored"
    beta_row = next(line for line in result.stdout.splitlines() if " beta " in line)
    cells = [c.strip() for c in beta_row.replace("┃", "│").split("│") if c.strip()]
    assert cells[:2] == ["beta", "ok"] and cells[6] == "1", "counted as rejected in the summary"


def test_crawl_respects_robots_domains_and_limits(crawled):
    w, sites, cfg, db, result = crawled
    assert result.returncode == 0, result.stderr
    alpha = sites["alpha"].host
    assert w.hits(sites["offsite"].host) == [], "off-site link must not be fetched"
    assert not [p for p in w.paths(alpha) if p.startswith("/private/")], "robots.txt disallows /private/"
    assert "/robots.txt" in w.paths(alpha)
    assert "/tag/navy/" not in w.paths(alpha), "article_pattern filters listing links"
    flaky = w.hits(alpha, "/2023/09/morocco-helicopters/")
    assert [h.status for h in flaky] == [500, 200], "5xx retried"
    assert "/category/defense/page/3/" in w.paths(alpha), "pagination followed"
    assert "/archive.php?page=2" in w.paths(sites["beta"].host), "'التالي' pagination followed"
    rows = _rows(db)
    assert not any("huge" in r["url"] or r["url"].endswith(".pdf") for r in rows)
    assert not any("utm_" in r["url"] or "fbclid" in r["url"] for r in rows)
    # each article fetched once although linked from feed, sitemap and listings
    article_paths = [p for p in w.paths(alpha) if p.startswith("/2023/") and "morocco" not in p]
    assert len(article_paths) == len(set(article_paths))
    alpha_row = next(line for line in result.stdout.splitlines() if " alpha " in line)
    cells = [c.strip() for c in alpha_row.split("│") if c.strip()]
    assert cells[-1] == "2", "the PDF and the oversized page are reported as skipped"
    assert cells[-2] == "1", "the 404 is reported as failed"


def test_second_crawl_adds_nothing(crawled):
    w, sites, cfg, db, result = crawled
    assert result.returncode == 0, result.stderr
    before = _rows(db)
    w.clear()
    again = run_defnews("--config", str(cfg), "crawl")
    assert again.returncode == 0, again.stderr
    after = _rows(db)
    assert [r["id"] for r in after] == [r["id"] for r in before]
    con = sqlite3.connect(db)
    runs = con.execute("SELECT source, status, ended_at IS NOT NULL FROM crawl_runs ORDER BY id").fetchall()
    con.close()
    assert len(runs) == 4 and all(r[1] == "ok" and r[2] for r in runs)
    stored = {urlsplit(r["url"]).path + (f"?{urlsplit(r['url']).query}" if urlsplit(r["url"]).query else "")
              for r in after}
    refetched = [h.path for h in w.log if h.path in stored]
    assert refetched == [], "stored articles are not fetched again (feed GUIDs, known URLs)"


def test_export_csv_and_jsonl_round_trip_arabic(crawled, tmp_path):
    w, sites, cfg, db, result = crawled
    assert result.returncode == 0, result.stderr
    rows = {r["url"]: r for r in _rows(db)}
    out = tmp_path / "out.csv"
    r = run_defnews("--config", str(cfg), "export", "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with open(out, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames[:10] == ["id", "source", "url", "title", "published_at", "author",
                                          "language", "text", "duplicate_of", "fetched_at"]
        exported = list(reader)
    assert len(exported) == len(rows)
    for e in exported:
        assert e["text"] == rows[e["url"]]["text"] and e["title"] == rows[e["url"]]["title"]
        assert e["published_at"].endswith("+00:00") and e["fetched_at"].endswith("+00:00")
    r = run_defnews("--config", str(cfg), "export", "--format", "jsonl", "--out", "-", "--source", "beta")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert {x["url"] for x in lines} == {u for u, v in rows.items() if v["source"] == "beta"}
    assert all(x["text"] == rows[x["url"]]["text"] for x in lines)
    r = run_defnews("--config", str(cfg), "export", "--out", "-", "--since", "2023-09-09T00:00:00Z")
    got = list(csv.DictReader(io.StringIO(r.stdout)))
    assert got and all(_utc(g["published_at"]) >= datetime(2023, 9, 9, tzinfo=timezone.utc) for g in got)
    assert len(got) == sum(1 for v in rows.values() if _utc(v["published_at"]) >= datetime(2023, 9, 9, tzinfo=timezone.utc))


def test_export_excel_neutralises_formulas(tmp_path):
    from crawler.items import Record
    from storage.db import open_db
    from storage.stories import store_records

    db_url = f"sqlite:///{tmp_path / 'x.db'}"
    engine, factory = open_db(db_url)
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    store_records(factory, [Record(source="s", url="https://a.example/1", title="=HYPERLINK(\"x\")",
                                   text="+1 نص عربي", author="@me", published_at=now, date_source="meta",
                                   language="ar", fetched_at=now)])
    engine.dispose()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database: {db_url}\nsources: []\n")
    r = run_defnews("--config", str(cfg), "export", "--excel", "--out", str(tmp_path / "x.csv"))
    assert r.returncode == 0, r.stderr
    raw = (tmp_path / "x.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    row = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))[0]
    assert row["title"].startswith("'=") and row["text"] == "'+1 نص عربي" and row["author"] == "'@me"


def test_crawl_into_postgresql(web, tmp_path, pg_schema_url):
    w, sites = web
    cfg = _write_config(tmp_path, sites, pg_schema_url)
    r = run_defnews("--config", str(cfg), "crawl")
    assert r.returncode == 0, r.stderr
    r2 = run_defnews("--config", str(cfg), "crawl")
    assert r2.returncode == 0, r2.stderr
    engine = create_engine(pg_schema_url)
    try:
        with engine.connect() as c:
            rows = [dict(m) for m in c.execute(text("SELECT * FROM stories ORDER BY id")).mappings()]
    finally:
        engine.dispose()
    for row in rows:
        for k in ("published_at", "fetched_at"):
            row[k] = row[k].isoformat() if row[k] else None
    _check_stories(rows, sites)


@pytest.mark.parametrize("snippet,key", [
    ("sources:\n  - name: Bad Name\n    url: https://a.example/\n", "sources[0].name"),
    ("sources:\n  - name: a\n    url: https://a.example/\n    schedule: every day\n", "sources[0].schedule"),
    ("sources:\n  - name: a\n    url: https://a.example/\n    article_pattern: '(['\n", "sources[0].article_pattern"),
    ("sources:\n  - name: a\n    url: https://a.example/\n    timezone: Mars/Olympus\n", "sources[0].timezone"),
    ("sources:\n  - name: a\n    url: not-a-url\n", "sources[0].url"),
    ("sources:\n  - name: a\n    url: https://a.example/\n    colour: red\n", "sources[0].colour"),
    ("crawl:\n  concurrency: many\n", "crawl.concurrency"),
    ("sources: [\n", "not valid YAML"),
])
def test_bad_config_exits_2_naming_the_key(tmp_path, snippet, key):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(snippet, encoding="utf-8")
    r = run_defnews("--config", str(cfg), "crawl", timeout=60)
    assert r.returncode == 2
    assert key in r.stderr and str(cfg) in r.stderr


def test_missing_config_and_unknown_source_exit_2(tmp_path, web):
    r = run_defnews("--config", str(tmp_path / "nope.yaml"), "crawl", timeout=60)
    assert r.returncode == 2 and "nope.yaml" in r.stderr
    w, sites = web
    cfg = _write_config(tmp_path, sites, f"sqlite:///{tmp_path / 'd.db'}")
    r = run_defnews("--config", str(cfg), "crawl", "--source", "gamma", timeout=60)
    assert r.returncode == 2 and "gamma" in r.stderr


def test_bad_source_fails_alone(web, tmp_path):
    w, sites = web
    db = tmp_path / "d.db"
    body = config_yaml(sites, f"sqlite:///{db}") + """  - name: dead
    url: http://127.0.0.1:9/
    feeds: [http://127.0.0.1:9/feed/]
    timezone: UTC
"""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(body, encoding="utf-8")
    r = run_defnews("--config", str(cfg), "crawl")
    assert r.returncode == 0, r.stderr
    assert "dead" in r.stdout and "failed" in r.stdout
    assert len(_rows(db)) == len(expected(sites))
    only_dead = run_defnews("--config", str(cfg), "crawl", "--source", "dead")
    assert only_dead.returncode == 1, "every source of the crawl failed"
