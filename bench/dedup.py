"""Dedup benchmark: quality on the labelled Arabic set, and cost per story as the table grows.

    python bench/dedup.py                       # temporary SQLite file
    python bench/dedup.py --db postgresql+psycopg://127.0.0.1:5432/test   # a scratch schema
    python bench/dedup.py --sizes 1000,10000 --quick

Prints
1. pairwise precision and recall of duplicate_of links on tests/fixtures/dedup/labelled.jsonl,
   stored through storage.stories.store_records in several random arrival orders and
   batch cuts, plus the similarity margins and a threshold sweep that justify the defaults;
2. the per-story dedup cost (keys + store, batches of 200) when the table holds 1k, 10k and
   100k stories (synthetic Zipf-distributed text, one in ten stories a rewrite of an
   earlier one), averaged over 5000 stories so the periodic move of the recent LSH level
   is included, with the 100k/1k ratio: a lookup that scanned the table would grow 100x;
3. peak memory (max RSS of this process and of the key-computing workers).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from crawler.text.fingerprints import (  # noqa: E402
    DEFAULT_PARAMS,
    DedupParams,
    dedup_keys,
    estimate_jaccard,
    is_same_story,
    title_similarity,
)
from crawler.items import Record  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import Base  # noqa: E402
from storage.stories import store_records  # noqa: E402

LABELLED = ROOT / "tests" / "fixtures" / "dedup" / "labelled.jsonl"
NOW = datetime(2025, 3, 1, tzinfo=timezone.utc)


# --- databases ---------------------------------------------------------------------------

class Scratch:
    """A throw-away database: a temporary SQLite file, or a fresh schema on PostgreSQL
    (dropped afterwards), with the current models' schema."""

    def __init__(self, url: str | None) -> None:
        self.url, self.schema, self.tmp = url, None, None
        if url and url.startswith("postgresql"):
            self.schema = f"bench_dedup_{uuid.uuid4().hex[:10]}"
            admin = create_engine(url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            self.engine = create_engine(url, connect_args={"options": f"-csearch_path={self.schema}"})
        else:
            self.tmp = tempfile.TemporaryDirectory(prefix="defnews-bench-")
            self.engine = make_engine(f"sqlite:///{self.tmp.name}/bench.db")
        Base.metadata.create_all(self.engine)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()
        if self.schema:
            admin = create_engine(self.url)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()
        if self.tmp:
            self.tmp.cleanup()


def record(source: str, url: str, title: str, body: str, **extra) -> Record:
    return Record(source=source, url=url, title=title, text=body, author="", published_at=None,
                  date_source="none", language="ar", fetched_at=NOW, extra=dict(extra))


# --- 1. quality on the labelled set ----------------------------------------------------

def load_labelled() -> list[dict]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line]


def pair_counts(rows: list[dict], root: dict[str, int]) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(rows, 2):
        same, linked = a["cluster"] == b["cluster"], root[a["id"]] == root[b["id"]]
        tp += same and linked
        fp += linked and not same
        fn += same and not linked
    return tp, fp, fn


def labelled_quality(db_url: str | None, orders: int) -> None:
    rows = load_labelled()
    clusters = {r["cluster"] for r in rows if r["kind"] != "negative"}
    negatives = sum(r["kind"] == "negative" for r in rows)
    print(f"labelled set: {len(rows)} stories, {len(clusters)} syndicated clusters, "
          f"{negatives} hard negatives ({LABELLED.relative_to(ROOT)})")
    tp = fp = fn = 0
    worst = (1.0, 1.0)
    for seed in range(orders):
        order = rows[:]
        random.Random(seed).shuffle(order)
        batch = [1, 5, 8, 46][seed % 4]  # one at a time, small and whole-set batches
        db = Scratch(db_url)
        try:
            root: dict[str, int] = {}
            for start in range(0, len(order), batch):
                chunk = order[start:start + batch]
                recs = [record(r["source"], r["url"], r["title"], r["text"]) for r in chunk]
                for r, o in zip(chunk, store_records(db.factory, recs)):
                    root[r["id"]] = o.duplicate_of or o.story_id
        finally:
            db.close()
        t, f, n = pair_counts(rows, root)
        tp, fp, fn = tp + t, fp + f, fn + n
        worst = (min(worst[0], t / (t + f) if t + f else 1.0), min(worst[1], t / (t + n)))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn)
    print(f"  duplicate_of links, pairwise over {orders} arrival orders: "
          f"precision {precision:.3f}  recall {recall:.3f}  "
          f"(worst order: precision {worst[0]:.3f}, recall {worst[1]:.3f})")


def margins_and_sweep(params: DedupParams) -> None:
    """Estimated Jaccard of every labelled pair: how far the threshold is from both sides."""
    rows = load_labelled()
    keys = {r["id"]: dedup_keys(r["title"], r["text"], params) for r in rows}
    dup, hard, other = [], [], []
    for a, b in itertools.combinations(rows, 2):
        ka, kb = keys[a["id"]], keys[b["id"]]
        j = estimate_jaccard(ka.signature, kb.signature)
        t = title_similarity(ka.title, kb.title)
        if a["cluster"] == b["cluster"]:
            dup.append((j, t))
        elif {a.get("topic_of"), b.get("topic_of")} & {a["cluster"], b["cluster"]}:
            hard.append((j, t))
        else:
            other.append((j, t))
    print(f"  estimated Jaccard ({params.shingle}-word shingles, {params.num_perm} permutations): "
          f"duplicate pairs min {min(j for j, _ in dup):.3f} median {np.median([j for j, _ in dup]):.3f}; "
          f"hard-negative pairs max {max(j for j, _ in hard):.3f}; "
          f"unrelated pairs max {max(j for j, _ in other):.3f}")
    print("  threshold sweep (pairwise, every pair compared directly):")
    for th in sorted({0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, params.threshold}):
        p = DedupParams(**{**params.__dict__, "threshold": th, "low_threshold": min(th, params.low_threshold)})
        tp = sum(is_same_story(j, t, p) for j, t in dup)
        fp = sum(is_same_story(j, t, p) for j, t in hard + other)
        mark = "  <- chosen" if th == params.threshold else ""
        print(f"    threshold {th:.2f}: precision {tp / (tp + fp) if tp + fp else 1:.3f} "
              f"recall {tp / len(dup):.3f}{mark}")
    cand = lambda j: 1 - (1 - j ** params.rows) ** params.bands  # noqa: E731
    print(f"  LSH {params.bands} bands x {params.rows} rows: P(candidate) at J={params.threshold} "
          f"{cand(params.threshold):.3f}, 0.35 {cand(0.35):.3f}, 0.41 {cand(0.41):.3f}, "
          f"0.50 {cand(0.5):.4f}; 0.17 {cand(0.17):.3f}; 0.01 {cand(0.01):.1e}")


# --- 2. cost at scale ------------------------------------------------------------------

class Corpus:
    """Synthetic stories: Zipf-distributed words over a 30k-word Arabic-letter vocabulary
    (so common words and phrases recur as in news text); every tenth story is a rewrite of
    an earlier one (a new intro, 8% of words replaced), so the duplicate path is exercised."""

    LETTERS = list("ابتثجحخدذرزسشصضطظعغفقكلمنهوي")

    def __init__(self, seed: int = 7, vocab: int = 30000, words: int = 180) -> None:
        self.rng = np.random.default_rng(seed)
        lengths = self.rng.integers(3, 8, vocab)
        self.vocab = np.array(["".join(self.rng.choice(self.LETTERS, n)) for n in lengths])
        ranks = np.arange(1, vocab + 1)
        self.p = (1 / ranks) / (1 / ranks).sum()
        self.words = words
        self.made: list[np.ndarray] = []  # word ids of originals, to rewrite later
        self.n = 0

    def story(self) -> tuple[str, str, str]:
        self.n += 1
        if self.made and self.n % 10 == 0:
            base = self.made[int(self.rng.integers(len(self.made)))].copy()
            swap = self.rng.random(len(base)) < 0.08
            base[swap] = self.rng.choice(len(self.vocab), int(swap.sum()), p=self.p)
            ids = np.concatenate([self.rng.choice(len(self.vocab), 15, p=self.p), base])
        else:
            ids = self.rng.choice(len(self.vocab), self.words + int(self.rng.integers(-40, 80)), p=self.p)
            if len(self.made) < 5000:
                self.made.append(ids)
            else:
                self.made[int(self.rng.integers(5000))] = ids
        body = " ".join(self.vocab[ids])
        return f"https://bench{self.n % 50}.example/a/{self.n}", " ".join(self.vocab[ids[:8]]), body


def _keys(item: tuple[str, str]):
    return dedup_keys(*item)


def scale_cost(db_url: str | None, sizes: list[int], measure: int, batch: int) -> None:
    corpus = Corpus()
    db = Scratch(db_url)
    stored = 0
    results = []
    try:
        with ProcessPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
            for size in sizes:
                # Fill up to `size` (not timed; keys in a worker pool as the crawl pipeline
                # computes them, stored in batches of 1000 to fill faster).
                while stored < size:
                    n = min(10_000, size - stored)
                    items = [corpus.story() for _ in range(n)]
                    keys = list(pool.map(_keys, [(t, b) for _, t, b in items], chunksize=50))
                    recs = [record("bench", u, t, b, dedup=k) for (u, t, b), k in zip(items, keys)]
                    for start in range(0, n, 1000):
                        store_records(db.factory, recs[start:start + 1000])
                    stored += n
                # Measure `measure` more stories, in this process: keys, then store.
                items = [corpus.story() for _ in range(measure)]
                t0 = time.perf_counter()
                keys = [dedup_keys(t, b) for _, t, b in items]
                t_keys = time.perf_counter() - t0
                recs = [record("bench", u, t, b, dedup=k) for (u, t, b), k in zip(items, keys)]
                dups, slowest, t_store = 0, 0.0, 0.0
                for start in range(0, measure, batch):
                    t0 = time.perf_counter()
                    out = store_records(db.factory, recs[start:start + batch])
                    took = time.perf_counter() - t0
                    t_store, slowest = t_store + took, max(slowest, took)
                    dups += sum(o.status == "duplicate" for o in out)
                stored += measure
                per = (t_keys + t_store) / measure * 1e3
                results.append((size, per))
                print(f"  table at {size:>7,} stories (+{measure:,} timed): {per:.3f} ms/story "
                      f"(keys {t_keys / measure * 1e3:.3f} + store {t_store / measure * 1e3:.3f}; "
                      f"batches of {batch}; {dups}/{measure} found duplicate; slowest batch "
                      f"{slowest * 1e3:.0f} ms)", flush=True)
    finally:
        db.close()
    if len(results) > 1:
        (s0, c0), (s1, c1) = results[0], results[-1]
        verdict = "ok" if c1 <= 2 * c0 else "TOO SLOW"
        print(f"  cost at {s1:,} / cost at {s0:,} = {c1 / c0:.2f} (target <= 2: {verdict})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", help="SQLAlchemy URL of a PostgreSQL server to use (a scratch schema)")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--measure", type=int, default=5000,
                    help="stories timed at each size (>= one move of the recent LSH level, ~4.5k "
                         "stories, so its cost is in the average)")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--orders", type=int, default=8, help="arrival orders of the labelled set")
    args = ap.parse_args(argv)
    p = DEFAULT_PARAMS
    print(f"defnews dedup benchmark on {'PostgreSQL' if args.db else 'SQLite (temporary file)'}")
    print(f"parameters: {p.shingle}-word shingles, MinHash {p.num_perm} permutations, LSH {p.bands} bands "
          f"x {p.rows} rows, same story if Jaccard >= {p.threshold} (or >= {p.low_threshold} with "
          f"headline overlap >= {p.title_threshold})")
    t0 = time.perf_counter()
    labelled_quality(args.db, args.orders)
    margins_and_sweep(p)
    print("per-story dedup cost as the table grows:")
    scale_cost(args.db, [int(s) for s in args.sizes.split(",")], args.measure, args.batch)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: {own:.0f} MiB max RSS (benchmark process), {kids:.0f} MiB (largest worker)")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
