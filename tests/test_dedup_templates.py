"""Dedup precision under shared templates (tests/fixtures/dedup/templated.jsonl).

Stories written from one agency template share their opening formula, headline pattern
and closing lines (estimated Jaccard up to 0.77) and differ in their facts; each has one
rewrite that keeps them. Defence: the facts check in crawler.text.fingerprints.is_same_story
(crawler/text/story_facts.py). Without it, most hard-negative pairs of a template are merged.

Recall through storage depends on arrival order: an LSH bucket has one owner, and when a
story of the same template owns the buckets a rewrite shares with its original, the
original does not see the rewrite (a miss shows a story twice; it hides nothing). The
confirmation rule itself separates every pair (test_the_rule_separates_every_pair).
"""

from __future__ import annotations

import itertools
import json
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from crawler.items import Record
from crawler.text.story_facts import facts_conflict, story_facts
from crawler.text.fingerprints import compare, dedup_keys
from storage.db import open_db
from storage.stories import store_records

SET = Path(__file__).parent / "fixtures" / "dedup" / "templated.jsonl"
NOW = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _rows() -> list[dict]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line]


def _record(r: dict) -> Record:
    return Record(source=r["source"], url=r["url"], title=r["title"], text=r["text"], author="",
                  published_at=NOW, date_source="feed", language="ar", fetched_at=NOW)


@pytest.mark.parametrize("seed,batch", [(0, 1), (1, 5), (2, 24)])
def test_no_wrong_merge_in_any_arrival_order(tmp_path, seed, batch):
    rows = _rows()
    random.Random(seed).shuffle(rows)
    engine, factory = open_db(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        root: dict[str, int] = {}
        for i in range(0, len(rows), batch):
            chunk = rows[i:i + batch]
            for r, o in zip(chunk, store_records(factory, [_record(r) for r in chunk])):
                root[r["id"]] = o.duplicate_of or o.story_id
    finally:
        engine.dispose()
    wrong = [(a["id"], b["id"]) for a, b in itertools.combinations(rows, 2)
             if a["cluster"] != b["cluster"] and root[a["id"]] == root[b["id"]]]
    found = [(a["id"], b["id"]) for a, b in itertools.combinations(rows, 2)
             if a["cluster"] == b["cluster"] and root[a["id"]] == root[b["id"]]]
    assert wrong == [], "stories from one template merged"
    assert len(found) >= len(rows) // 2 - 2, "rewrites not recognised"


def test_the_rule_separates_every_pair():
    """compare() (the rule storage applies) on every pair: rewrites one, templates apart."""
    rows = _rows()
    keys = {r["id"]: dedup_keys(r["title"], r["text"]) for r in rows}
    for a, b in itertools.combinations(rows, 2):
        assert compare(keys[a["id"]], keys[b["id"]]) == (a["cluster"] == b["cluster"]), (a["id"], b["id"])


def test_facts_read_numbers_countries_days_and_months_through_clitics():
    facts = story_facts("وصلت ٤ طائرات إلى مصر وبالسعودية يوم الخميس في أيلول عام 2021")
    assert {"n:4", "n:2021", "c:eg", "c:sa", "d:الخميس", "m:9"} <= facts
    assert facts_conflict({"c:eg", "n:4"}, {"c:sa", "n:4"})  # another country
    assert not facts_conflict({"c:eg", "n:4", "n:2021"}, {"c:eg", "n:2021"})  # a subset agrees
    assert not facts_conflict({"c:eg"}, {"n:5"})  # nothing to compare
