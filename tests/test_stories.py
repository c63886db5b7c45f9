"""storage/stories.py: the three dedup levels against SQL (SQLite file), batches, runs, GUIDs,
and the constraint-driven race handling (simulated deterministically by hiding what another
writer committed from our first look, which is exactly what a concurrent writer causes)."""

from __future__ import annotations

import itertools
import json
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

import storage.stories as stories
from crawler.text.fingerprints import dedup_keys
from crawler.items import Record
from crawler.urls import choose_canonical
from storage.db import make_engine
from storage.feed_entries import seen_guids
from storage.models import Base, Story, StoryBand, StoryBandRecent
from storage.stories import store_records

LABELLED = Path(__file__).parent / "fixtures" / "dedup" / "labelled.jsonl"
NOW = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
BRIEF = "وصلت إلى قاعدة الدخان الجوية أربع طائرات تايفون جديدة صباح اليوم"  # too short for MinHash


@pytest.fixture(scope="module")
def labelled() -> dict[str, dict]:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    return {r["id"]: r for r in rows}


@pytest.fixture
def db_file(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'stories.db'}"


def factory_for(url: str) -> sessionmaker:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def factory(db_file) -> sessionmaker:
    return factory_for(db_file)


def rec(url: str, title: str, text: str, source: str = "src", guid: str = "") -> Record:
    return Record(source=source, url=url, title=title, text=text, author="", published_at=None,
                  date_source="none", language="ar", fetched_at=NOW, guid=guid)


def from_row(row: dict, url: str | None = None, **kw) -> Record:
    return rec(url or row["url"], row["title"], row["text"], source=row["source"], **kw)


def rows(factory) -> list[Story]:
    with factory() as s:
        return list(s.scalars(select(Story).order_by(Story.id)))


# --- URL level -------------------------------------------------------------------------

def test_same_canonical_url_is_one_row(factory, labelled):
    r = labelled["c04-0"]
    tracked = choose_canonical(r["url"] + "?utm_source=twitter&fbclid=abc#comments", None)
    first = store_records(factory, [from_row(r)])
    again = store_records(factory, [from_row(r, url=tracked)])
    assert first[0].status == "new"
    assert again[0].status == "exists" and again[0].story_id == first[0].story_id
    assert len(rows(factory)) == 1


def test_existing_url_writes_nothing(factory, labelled):
    r = labelled["c04-0"]
    store_records(factory, [from_row(r)])
    changed = rec(r["url"], "عنوان آخر", "نص مختلف تماما " * 20)
    assert store_records(factory, [changed])[0].status == "exists"
    assert rows(factory)[0].title == r["title"]


# --- exact level -----------------------------------------------------------------------

def test_exact_level_catches_a_short_brief_at_two_urls(factory):
    # Too short for MinHash: only the fingerprint of the normalised text can see it.
    assert dedup_keys("", BRIEF).signature is None
    a = store_records(factory, [rec("https://a.example/1", "تايفون", BRIEF, source="a")])[0]
    vocalised = "وَصلت إلى قاعدة الدخــان الجوية أربع طائراتٍ تايفون جديدة صباحَ اليوم."
    b = store_records(factory, [rec("https://b.example/9", "طائرات", vocalised, source="b")])[0]
    assert (a.status, b.status) == ("new", "duplicate")
    assert b.duplicate_of == a.story_id


# --- near-duplicate level ---------------------------------------------------------------

def test_near_duplicate_level_catches_a_rewrite(factory, labelled):
    orig, rewrite = labelled["c01-0"], labelled["c01-1"]
    a = store_records(factory, [from_row(orig)])[0]
    b = store_records(factory, [from_row(rewrite)])[0]
    assert b.status == "duplicate" and b.duplicate_of == a.story_id
    stored = rows(factory)
    assert stored[0].fingerprint != stored[1].fingerprint  # not an exact match
    with factory() as s:  # only originals claim LSH buckets
        owners = set(s.scalars(select(StoryBandRecent.story_id)))
        owners |= set(s.scalars(select(StoryBand.story_id)))
    assert owners == {a.story_id}


def test_dedup_state_survives_a_new_process(db_file, labelled):
    a = store_records(factory_for(db_file), [from_row(labelled["c02-0"])])[0]
    b = store_records(factory_for(db_file), [from_row(labelled["c02-2"])])[0]  # fresh engine
    assert b.status == "duplicate" and b.duplicate_of == a.story_id


def test_buckets_settle_into_the_big_index_and_still_match(factory, labelled, monkeypatch):
    # recent_limit=0: every batch moves its claims into story_bands, sorted.
    a = store_records(factory, [from_row(labelled["c10-0"]), from_row(labelled["n10"])],
                      recent_limit=0)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(StoryBandRecent)) == 0
        assert s.scalar(select(func.count()).select_from(StoryBand)) == 2 * 64
    b = store_records(factory, [from_row(labelled["c10-2"])], recent_limit=0)[0]
    assert b.status == "duplicate" and b.duplicate_of == a[0].story_id
    # A writer that looked before the other's commit still finds it in the settled level.
    blind_first_look(monkeypatch, "_bucket_owners")
    c = store_records(factory, [from_row(labelled["c10-3"])], recent_limit=0)[0]
    assert c.status == "duplicate" and c.duplicate_of == a[0].story_id


def test_hard_negatives_stay_separate_stories(factory, labelled):
    negatives = [r for r in labelled.values() if r["kind"] == "negative"]
    originals = [labelled[f"{n['topic_of']}-0"] for n in negatives]
    ids = dict.fromkeys(r["id"] for r in originals + negatives)  # in order, no repeats
    out = store_records(factory, [from_row(labelled[i]) for i in ids])
    assert all(o.status == "new" for o in out)


def test_duplicate_of_is_the_cluster_original_never_a_chain(factory, labelled):
    a = store_records(factory, [from_row(labelled["c03-0"])])[0]
    b = store_records(factory, [from_row(labelled["c03-2"])])[0]
    # An exact copy of the duplicate b, at a third URL: it must point at a, not at b.
    c = store_records(factory, [from_row(labelled["c03-2"], url="https://copy.example/c03-2")])[0]
    d = store_records(factory, [from_row(labelled["c03-3"])])[0]
    assert b.duplicate_of == c.duplicate_of == d.duplicate_of == a.story_id
    originals = {s.id for s in rows(factory) if s.duplicate_of is None}
    assert all(s.duplicate_of in originals for s in rows(factory) if s.duplicate_of)


def test_one_batch_that_repeats_itself(factory, labelled):
    orig, rewrite = labelled["c07-0"], labelled["c07-2"]
    out = store_records(factory, [from_row(orig), from_row(rewrite), from_row(orig),
                                  rec("https://x.example/brief", "", BRIEF),
                                  rec("https://y.example/brief", "", BRIEF + ".")])
    assert [o.status for o in out] == ["new", "duplicate", "exists", "new", "duplicate"]
    assert out[1].duplicate_of == out[0].story_id == out[2].story_id
    assert out[4].duplicate_of == out[3].story_id
    assert len(rows(factory)) == 4


def test_labelled_set_in_random_orders_and_batches(factory, labelled, tmp_path):
    items = list(labelled.values())
    for seed, batch in [(0, 1), (1, 7), (2, len(items))]:
        f = factory_for(f"sqlite:///{tmp_path / f'order{seed}.db'}")
        order = items[:]
        random.Random(seed).shuffle(order)
        root = {}
        for start in range(0, len(order), batch):
            chunk = order[start:start + batch]
            for r, o in zip(chunk, store_records(f, [from_row(r) for r in chunk])):
                root[r["id"]] = o.duplicate_of or o.story_id
        tp = fp = fn = 0
        for a, b in itertools.combinations(items, 2):
            same, linked = a["cluster"] == b["cluster"], root[a["id"]] == root[b["id"]]
            tp, fp, fn = tp + (same and linked), fp + (linked and not same), fn + (same and not linked)
        assert fp == 0 and tp / (tp + fn) >= 0.95, (seed, tp, fp, fn)


def test_precomputed_keys_are_used(factory, labelled):
    orig, other = labelled["c05-0"], labelled["n06"]
    store_records(factory, [from_row(orig)])
    # The worker pool computed keys for this record: store_records must not recompute them.
    r = from_row(other)
    r.extra["dedup"] = dedup_keys(orig["title"], orig["text"])
    assert store_records(factory, [r])[0].status == "duplicate"


# --- feed GUIDs ------------------------------------------------------------------------

def test_feed_guids_are_remembered_per_source(factory, labelled):
    r = labelled["c09-0"]
    store_records(factory, [from_row(r, guid="https://hespress.com/?p=1450001")])
    store_records(factory, [from_row(labelled["c09-1"], guid="tag:le360,1")])
    with factory() as s:
        assert seen_guids(s, r["source"], ["https://hespress.com/?p=1450001", "other"]) == {
            "https://hespress.com/?p=1450001"}
        assert seen_guids(s, "another-source", ["https://hespress.com/?p=1450001"]) == set()
        assert seen_guids(s, labelled["c09-1"]["source"], ["tag:le360,1"]) == {"tag:le360,1"}


# --- races, made deterministic ----------------------------------------------------------

def blind_first_look(monkeypatch, name: str) -> None:
    """Make the first lookup of ``name`` see nothing, as if another writer's commit landed
    between our lookup and our insert; later lookups see the database as it is."""
    real = getattr(stories, name)
    calls = {"n": 0}

    def blind(*args, **kwargs):
        calls["n"] += 1
        return {} if calls["n"] == 1 else real(*args, **kwargs)

    monkeypatch.setattr(stories, name, blind)


def test_race_on_url_ends_as_exists(factory, labelled, monkeypatch):
    a = store_records(factory, [from_row(labelled["c06-0"])])[0]
    blind_first_look(monkeypatch, "_existing_urls")
    b = store_records(factory, [from_row(labelled["c06-0"])])[0]
    assert b.status == "exists" and b.story_id == a.story_id
    assert len(rows(factory)) == 1


def test_race_on_exact_text_ends_with_one_original(factory, monkeypatch):
    a = store_records(factory, [rec("https://a.example/1", "", BRIEF)])[0]
    blind_first_look(monkeypatch, "_originals_by_fingerprint")
    b = store_records(factory, [rec("https://b.example/1", "", BRIEF)])[0]
    assert b.status == "duplicate" and b.duplicate_of == a.story_id
    assert sum(s.duplicate_of is None for s in rows(factory)) == 1


def test_race_on_near_duplicate_ends_with_one_original(factory, labelled, monkeypatch):
    a = store_records(factory, [from_row(labelled["c08-0"])])[0]
    blind_first_look(monkeypatch, "_bucket_owners")
    out = store_records(factory, [from_row(labelled["c08-1"]), from_row(labelled["c08-3"]),
                                  from_row(labelled["n08"])])
    assert [o.status for o in out] == ["duplicate", "duplicate", "new"]
    assert out[0].duplicate_of == out[1].duplicate_of == a.story_id
    stored = {s.url: s for s in rows(factory)}
    assert stored[labelled["c08-1"]["url"]].duplicate_of == a.story_id
    assert stored[labelled["c08-3"]["url"]].duplicate_of == a.story_id  # re-pointed, no chain
    assert stored[labelled["n08"]["url"]].duplicate_of is None


def test_one_original_per_fingerprint_is_a_database_constraint(factory):
    from sqlalchemy.exc import IntegrityError

    keys = dedup_keys("", BRIEF)
    with pytest.raises(IntegrityError):
        with factory.begin() as s:
            for n in (1, 2):
                s.add(Story(source="s", url=f"https://c.example/{n}", title="", text=BRIEF,
                            author="", date_source="", language="ar", fetched_at=NOW,
                            fingerprint=keys.fingerprint))
                s.flush()
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Story)) == 0
