"""Corrections: re-checking recent stories and updating them in place (storage level)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from crawler.config import ConfigError, parse_config
from crawler.items import Record
from crawler.report import build_feed
from crawler.text.revisions import is_degraded, version_hash
from storage.corrections import apply_corrections, recheck_due, stories_to_recheck
from storage.db import open_db
from storage.export import iter_rows, story_query
from storage.models import CrawlRun, Story
from storage.stories import store_records
from tests.web.fixtureweb import ALPHA_ARTICLES

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def _record(i: int, url: str, fetched_at: datetime, **kw) -> Record:
    a = ALPHA_ARTICLES[i]
    r = Record(source="alpha", url=url, title=a.title, text="\n\n".join(a.paragraphs), author="",
               published_at=a.published, date_source="meta", language="ar", fetched_at=fetched_at)
    r = replace(r, **kw)
    r.page_hash = kw.get("page_hash") or version_hash(r.title, r.text)  # as extract_record does
    return r


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request, tmp_path):
    if request.param == "sqlite":
        engine, factory = open_db(f"sqlite:///{tmp_path / 'c.db'}")
        yield factory
        engine.dispose()
    else:
        url = request.getfixturevalue("pg_schema_url")
        engine, factory = open_db(url)
        yield factory
        engine.dispose()


def _row(factory, sid: int) -> dict:
    with factory() as s:
        return s.execute(select(Story.__table__).where(Story.id == sid)).one()._asdict()


# -- when ---------------------------------------------------------------------------------

def test_recheck_moments_double_with_the_age_of_the_story():
    gap = 600
    assert not recheck_due(T0, None, T0 + 5 * MIN, gap), "younger than the first moment"
    assert recheck_due(T0, None, T0 + 10 * MIN, gap)
    assert recheck_due(T0, T0 - MIN, T0 + 10 * MIN, gap), "a run before the story: never checked"
    assert not recheck_due(T0, T0 + 10 * MIN, T0 + 19 * MIN, gap)
    assert recheck_due(T0, T0 + 10 * MIN, T0 + 20 * MIN, gap)
    assert not recheck_due(T0, T0 + 25 * MIN, T0 + 39 * MIN, gap)
    assert recheck_due(T0, T0 + 25 * MIN, T0 + 41 * MIN, gap)
    # Crawled every 15 minutes for 48 hours: checked 9 times, not 192.
    runs = [T0 + 15 * MIN * k for k in range(1, 48 * 4 + 1)]
    checks = sum(recheck_due(T0, prev, now, gap) for prev, now in zip([None, *runs], runs))
    assert checks == 9


def test_stories_to_recheck_window_schedule_and_switch(tmp_path):
    engine, factory = open_db(f"sqlite:///{tmp_path / 'w.db'}")
    now = datetime.now(timezone.utc)
    store_records(factory, [
        _record(0, "http://a.example/1", now - timedelta(hours=1), etag='"e1"'),
        _record(1, "http://a.example/2", now - timedelta(hours=47), last_modified="Mon, 01 Jan 2026 10:00:00 GMT"),
        _record(2, "http://a.example/3", now - timedelta(hours=49)),
        replace(_record(3, "http://b.example/4", now - timedelta(hours=1)), source="beta"),
    ])
    due = stories_to_recheck(factory, "alpha", 48, now=now)
    assert [(r.url, r.etag, r.last_modified) for r in due] == [
        ("http://a.example/1", '"e1"', None),
        ("http://a.example/2", None, "Mon, 01 Jan 2026 10:00:00 GMT")]  # not /3: older than 48 h
    assert stories_to_recheck(factory, "alpha", 0, now=now) == [], "recheck_hours: 0 disables"
    assert [r.url for r in stories_to_recheck(factory, "alpha", 48, now=now, limit=1)] == ["http://a.example/1"]
    # A successful run 5 minutes ago: the 1-hour-old story was checked then (at 55 min its
    # next moment is 80 min), the 47-hour-old one too (next at 53 h).
    with factory.begin() as s:
        s.add(CrawlRun(source="alpha", started_at=now - 5 * MIN, ended_at=now - 4 * MIN, status="ok"))
        s.add(CrawlRun(source="alpha", started_at=now - 2 * MIN, status="interrupted"))
    assert stories_to_recheck(factory, "alpha", 48, now=now) == []
    assert [r.url for r in stories_to_recheck(factory, "alpha", 48, now=now + 30 * MIN)] == ["http://a.example/1"]
    engine.dispose()


def test_recheck_hours_is_a_validated_source_key():
    src = {"name": "a", "url": "https://a.example/"}
    assert parse_config({"sources": [src]}).sources[0].recheck_hours == 48
    assert parse_config({"sources": [{**src, "recheck_hours": 0}]}).sources[0].recheck_hours == 0
    with pytest.raises(ConfigError, match=r"sources\[0\]\.recheck_hours"):
        parse_config({"sources": [{**src, "recheck_hours": -1}]}, "c.yaml")


# -- what ---------------------------------------------------------------------------------

def test_degraded_means_much_less_text():
    text = "\n\n".join(ALPHA_ARTICLES[0].paragraphs)
    assert not is_degraded(text, text.replace("الكورية", "اليابانية"))
    assert is_degraded(text, ALPHA_ARTICLES[0].paragraphs[2])
    assert version_hash("عنوانٌ", "نص الخبر") == version_hash("عنوان", "نَص الخبر.")
    assert version_hash("عنوان", "نص") != version_hash("عنوان آخر", "نص")


def test_a_correction_updates_in_place_and_keeps_identity_and_cluster(factory):
    original, copy = store_records(factory, [
        _record(0, "http://a.example/orig", T0),
        _record(0, "http://b.example/copy", T0 + MIN, etag='"v1"'),
    ])
    assert copy.status == "duplicate" and copy.duplicate_of == original.story_id
    before = _row(factory, copy.story_id)
    fixed_text = "\n\n".join(ALPHA_ARTICLES[0].paragraphs).replace("بحر اليابان", "بحر الصين")
    corrected = _record(0, "http://b.example/copy", T0 + 3 * MIN, title="روسيا وكوريا الشمالية تتفقان على مناورة بحرية",
                        text=fixed_text, etag='"v2"')
    assert apply_corrections(factory, [(copy.story_id, corrected)]) == ["updated"]
    after = _row(factory, copy.story_id)
    assert after["title"] == "روسيا وكوريا الشمالية تتفقان على مناورة بحرية" and after["text"] == fixed_text
    for key in ("id", "url", "fetched_at", "duplicate_of", "fingerprint", "minhash", "source", "published_at"):
        assert after[key] == before[key], key
    assert after["revision"] == 1 and after["updated_at"] is not None and after["etag"] == '"v2"'
    assert before["revision"] == 0 and before["updated_at"] is None

    # The same version again (re-rendered page, new validators): no correction.
    again = replace(corrected, etag='"v3"', text=fixed_text.replace("،", " ، "))
    assert apply_corrections(factory, [(copy.story_id, again)]) == ["unchanged"]
    row = _row(factory, copy.story_id)
    assert row["revision"] == 1 and row["updated_at"] == after["updated_at"] and row["etag"] == '"v3"'


def test_unchanged_story_is_not_written(factory):
    (o,) = store_records(factory, [_record(1, "http://a.example/x", T0, etag='"v1"')])
    before = _row(factory, o.story_id)
    assert apply_corrections(factory, [(o.story_id, _record(1, "http://a.example/x", T0 + MIN, etag='"v1"'))]) == ["unchanged"]
    assert _row(factory, o.story_id) == before


def test_a_broken_new_version_never_replaces_the_stored_one(factory):
    (o,) = store_records(factory, [_record(2, "http://a.example/y", T0)])
    before = _row(factory, o.story_id)
    stub = _record(2, "http://a.example/y", T0 + MIN, title="عذرا", text=ALPHA_ARTICLES[2].paragraphs[0])
    empty = _record(2, "http://a.example/y", T0 + MIN, title="", text="  ")
    assert apply_corrections(factory, [(o.story_id, stub), (o.story_id, empty), (999999, stub)]) == [
        "kept", "kept", "missing"]
    assert _row(factory, o.story_id) == before


def test_a_story_stored_before_page_hashes_gets_a_baseline_not_an_update(factory):
    """Its stored title may be a feed's and its text cleaned by older rules: the first
    re-check records what the page says now, later ones compare with that."""
    (o,) = store_records(factory, [_record(3, "http://a.example/z", T0)])
    with factory.begin() as s:  # a story stored before the migration
        s.execute(update(Story).where(Story.id == o.story_id).values(page_hash=""))
    page = _record(3, "http://a.example/z", T0 + MIN, title="عنوان الصفحة نفسها", etag='"p1"')
    assert apply_corrections(factory, [(o.story_id, page)]) == ["unchanged"]
    row = _row(factory, o.story_id)
    assert row["title"] == ALPHA_ARTICLES[3].title and row["revision"] == 0 and row["updated_at"] is None
    assert row["page_hash"] == page.page_hash and row["etag"] == '"p1"'
    corrected = _record(3, "http://a.example/z", T0 + 2 * MIN, title="عنوان مصحح")
    assert apply_corrections(factory, [(o.story_id, corrected)]) == ["updated"]


# -- where the reader sees it ------------------------------------------------------------

def test_a_correction_shows_in_the_export_and_the_atom_feed(tmp_path):
    engine, factory = open_db(f"sqlite:///{tmp_path / 'r.db'}")
    a, b = store_records(factory, [_record(4, "http://a.example/r1", T0), _record(5, "http://a.example/r2", T0)])
    fixed = _record(4, "http://a.example/r1", T0 + MIN, title="عنوان مصحح بعد النشر")
    assert apply_corrections(factory, [(a.story_id, fixed)]) == ["updated"]
    with factory() as s:
        rows = {r["id"]: r for r in iter_rows(s, story_query())}
        stories = list(s.scalars(select(Story).order_by(Story.id)))
    assert rows[b.story_id]["updated_at"] == ""
    updated_at = datetime.fromisoformat(rows[a.story_id]["updated_at"])
    assert updated_at > T0 and list(rows[a.story_id])[:10] == [
        "id", "source", "url", "title", "published_at", "author", "language", "text", "duplicate_of", "fetched_at"]
    entries = {e.id(): e for e in build_feed(stories).entry()}
    assert entries["http://a.example/r1"].updated() == updated_at
    assert entries["http://a.example/r2"].updated() == ALPHA_ARTICLES[5].published
    engine.dispose()
