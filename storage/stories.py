"""Writing stories: one row per canonical URL, one original per story, one transaction a batch.

``store_records`` applies the three dedup levels of crawler/text/fingerprints.py against SQL:

1. URL: the canonical URL is unique; a URL already stored is reported "exists" and
   nothing is written for it (its feed GUID is still remembered).
2. Exact: the fingerprint of the normalised text is looked up among originals.
3. Near-duplicate: the record's LSH band hashes are looked up in the bucket index (one
   indexed ``hash IN (...)`` for the whole batch); candidates are confirmed by estimated
   Jaccard and headline similarity (crawler.text.fingerprints.is_same_story).

A duplicate points at the cluster's original (a candidate's own ``duplicate_of`` when it
has one), so there are never chains. Records of one batch that repeat each other are
matched against each other too. A batch costs a handful of statements whatever its size:
URLs, fingerprints, buckets and candidates are each one query, stories one multi-row
insert, bucket claims one insert.

The bucket index has two levels: claims go to the small ``story_bands_recent``, which is
moved, sorted, into ``story_bands`` every ~260k rows. Claiming straight into a table of
millions of random keys dirties about one page per row (64 per story), which made the
cost per story triple between 1k and 100k stories; the move touches each page once for
many rows.

Race safety comes from the database, never from memory, so it holds across processes and
machines on SQLite and PostgreSQL alike. Every insert is ``ON CONFLICT DO NOTHING``:
- same URL stored by another process meanwhile: the insert does nothing -> "exists";
- same text: the partial unique index (one original per fingerprint) rejects a second
  original -> the record is re-read and stored as that original's duplicate;
- near-duplicate: after claiming its buckets, a batch looks again (a new statement, so it
  sees what others committed; PostgreSQL made it wait on any bucket another open
  transaction was claiming) for owners of buckets that were free at its first look; a
  story found there is compared, and if it is the same story ours becomes its duplicate
  before commit.
Deadlocks between concurrent batches (PostgreSQL detects them) roll the batch back and it
is retried whole; nothing was committed, so the retry is idempotent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler.text.fingerprints import (
    DEFAULT_PARAMS,
    DedupKeys,
    DedupParams,
    dedup_keys,
    estimate_jaccard,
    is_same_story,
    title_similarity,
    words,
)
from crawler.items import Record
from crawler.text.learned import candidate_lines
from crawler.text.story_facts import story_facts
from storage.db import utcnow
from storage.feed_entries import remember_guids, seen_guids
from storage.learned import record_candidates
from storage.rejections import (Rejected, forget_rejections, record_rejections, still_rejected_guids,
                                still_rejected_urls)
from storage.models import Story
from storage.search import search_columns

STORIES = Story.__table__
CHUNK = 2000  # values per IN (...) / rows per INSERT: under SQLite's and PostgreSQL's limits
RETRIES = 6
# Recent LSH buckets kept before they are moved, sorted, into story_bands: about 4k stories.
# A batch dirties at most every page of the recent level (~1.5k pages), a move touches each
# page of story_bands about once per 260k rows.
RECENT_LIMIT = 262_144
SETTLE_CHECK_EVERY = 1024  # new stories between two counts of the recent level


@dataclass
class Outcome:
    status: str  # "new" | "duplicate" | "exists"
    story_id: int | None
    duplicate_of: int | None = None


@dataclass
class _Candidate:
    """A stored story as the confirmation step needs it."""

    id: int
    root: int  # the cluster original: duplicate_of or id
    signature: bytes | None
    title: str  # normalised
    facts: tuple[str, ...] = ()  # of its headline and text (crawler.text.story_facts)


@dataclass
class _Plan:
    """What one record of the batch will become."""

    record: Record
    keys: DedupKeys
    status: str = "new"  # new | duplicate | exists
    story_id: int | None = None
    root: int | None = None  # stored original this one duplicates
    batch_root: int | None = None  # index of an earlier record of this batch it duplicates
    same_url_as: int | None = None  # index of an earlier record of this batch with its URL
    conflicts: set[int] = field(default_factory=set)


def keys_for(record: Record, params: DedupParams = DEFAULT_PARAMS) -> DedupKeys:
    """Precomputed keys (``Record.extra["dedup"]``, e.g. from the worker pool) when they
    match ``params``; computed here otherwise."""
    keys = record.extra.get("dedup") if record.extra else None
    if isinstance(keys, dict):
        keys = DedupKeys(**keys)
    if isinstance(keys, DedupKeys) and (
        keys.signature is None or (len(keys.bands) == params.bands
                                   and len(keys.signature) == 4 * params.num_perm)):
        return keys
    return dedup_keys(record.title, record.text, params)


def store_records(factory: sessionmaker[Session], records: Sequence[Record],
                  run_id: int | None = None, params: DedupParams = DEFAULT_PARAMS,
                  recent_limit: int = RECENT_LIMIT, *,
                  rejected: Sequence[Rejected] = (),
                  learn_source: str | None = None) -> list[Outcome]:
    """Store a batch in one transaction; one Outcome per record, in order.

    The same transaction records the relevance filter's `rejected` stories (so the next
    run does not fetch them again while the rejection holds; a story stored after all is
    no longer one), and, with `learn_source`, counts the lines
    of the batch's new originals towards that source's learned boilerplate: only new
    originals teach it, since a republished story's paragraphs recur across stories
    without being boilerplate. Retried whole on deadlock or lock timeout (nothing of a
    failed attempt is committed).
    """
    if not records and not rejected:
        return []
    keys = [keys_for(r, params) for r in records]
    for attempt in range(RETRIES):
        try:
            with factory.begin() as session:
                outcomes = _store_batch(session.connection(), records, keys, run_id, params,
                                        recent_limit) if records else []
                if rejected:
                    record_rejections(session.connection(), rejected, utcnow())
                    remember_guids(session.connection(), [(r.source, r.guid, r.url, None)
                                                          for r in rejected if r.guid], utcnow())
                for source in {r.source for r in records}:
                    forget_rejections(session.connection(), source, [
                        r.url for r, o in zip(records, outcomes) if r.source == source and o.status != "exists"])
                if learn_source is not None:
                    # The worker computed each record's candidates (extra["lines"]).
                    learn = [r.extra.get("lines") or candidate_lines(r.text or "")
                             for r, o in zip(records, outcomes)
                             if o.status == "new" and o.duplicate_of is None]
                    if learn:
                        record_candidates(session, learn_source, learn)
                return outcomes
        except (OperationalError, DBAPIError) as exc:
            if attempt == RETRIES - 1 or not _retryable(exc):
                raise
            time.sleep(0.05 * 2 ** attempt)
    raise AssertionError("unreachable")


def stored_urls(factory: sessionmaker[Session], urls: Iterable[str]) -> set[str]:
    """The canonical URLs among `urls` that are stored: links to them are not refetched."""
    wanted = sorted(set(urls))
    out: set[str] = set()
    with factory() as session:
        for chunk in _chunks(wanted):
            out.update(session.scalars(select(Story.url).where(Story.url.in_(list(chunk)))))
    return out


def newest_originals(factory: sessionmaker[Session], sources: Sequence[str] = (),
                     limit: int = 50) -> list[Story]:
    """The `limit` newest original stories (by published date, fetch date when unknown)."""
    when = func.coalesce(Story.published_at, Story.fetched_at)
    q = select(Story).where(Story.duplicate_of.is_(None))
    if sources:
        q = q.where(Story.source.in_(list(sources)))
    with factory() as session:
        return list(session.scalars(q.order_by(when.desc(), Story.id.desc()).limit(limit)))


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code in ("40P01", "40001", "55P03"):  # deadlock, serialization failure, lock timeout
        return True
    message = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in message or "deadlock" in message


# --- the batch ---------------------------------------------------------------------------

def _store_batch(conn: Connection, records: Sequence[Record], keys: list[DedupKeys],
                 run_id: int | None, params: DedupParams, recent_limit: int) -> list[Outcome]:
    plans = [_Plan(r, k) for r, k in zip(records, keys)]

    # 1. URL level: already stored, or repeated inside the batch.
    stored_urls = _existing_urls(conn, {p.record.url for p in plans})
    first_with_url: dict[str, int] = {}
    for i, p in enumerate(plans):
        if p.record.url in stored_urls:
            p.status, (p.story_id, p.root) = "exists", stored_urls[p.record.url]
        elif p.record.url in first_with_url:
            p.status, p.same_url_as = "exists", first_with_url[p.record.url]
        else:
            first_with_url[p.record.url] = i
    todo = [p for p in plans if p.status != "exists"]

    # 2 + 3. Exact and near-duplicate lookups for the whole batch, then decide in order.
    by_fp = _originals_by_fingerprint(conn, {p.keys.fingerprint for p in todo} - {""})
    seen_buckets = _bucket_owners(conn, [h for p in todo for h in p.keys.bands])
    candidates = _candidates(conn, {sid for owners in seen_buckets.values() for sid in owners})
    _decide(plans, by_fp, seen_buckets, candidates, params)

    # Write: rows whose original is stored first, then rows pointing into this batch.
    now = utcnow()
    _insert_stories(conn, plans, [i for i, p in enumerate(plans)
                                  if p.status != "exists" and p.batch_root is None], run_id)
    for p in plans:
        if p.batch_root is not None:
            p.root = plans[p.batch_root].root or plans[p.batch_root].story_id
    _insert_stories(conn, plans, [i for i, p in enumerate(plans)
                                  if p.status != "exists" and p.batch_root is not None], run_id)
    _claim_buckets(conn, plans, set(seen_buckets), params)
    _settle_buckets(conn, recent_limit, [p.story_id for p in plans
                                         if p.status == "new" and p.story_id is not None])

    for p in plans:
        if p.same_url_as is not None:
            first = plans[p.same_url_as]
            p.story_id, p.root = first.story_id, first.root
    remember_guids(conn, [(p.record.source, p.record.guid, p.record.url, p.story_id)
                          for p in plans if p.record.guid and p.story_id is not None], now)
    return [Outcome(p.status, p.story_id, p.root) for p in plans]


def _decide(plans: list[_Plan], by_fp: dict[str, int], buckets: dict[int, list[int]],
            candidates: dict[int, _Candidate], params: DedupParams) -> None:
    """Mark each new record as an original or a duplicate (of a stored story or of an
    earlier record of the batch); pure, so the order of the batch is the order of arrival."""
    batch_fp: dict[str, int] = {}
    batch_buckets: dict[int, int] = {}
    for i, p in enumerate(plans):
        if p.status == "exists":
            continue
        fp = p.keys.fingerprint
        if fp and fp in by_fp:
            p.status, p.root = "duplicate", by_fp[fp]
            continue
        if fp and fp in batch_fp:
            p.status, p.batch_root = "duplicate", batch_fp[fp]
            continue
        best = _best_match(p.keys, {sid for h in p.keys.bands for sid in buckets.get(h, ())},
                           candidates, params)
        batch_best = _best_batch_match(p.keys, plans,
                                       {batch_buckets[h] for h in p.keys.bands if h in batch_buckets},
                                       params)
        if best is not None and (batch_best is None or best[0] >= batch_best[0]):
            p.status, p.root = "duplicate", best[1]
        elif batch_best is not None:
            p.status, p.batch_root = "duplicate", batch_best[1]
        else:
            if fp:
                batch_fp[fp] = i
            for h in p.keys.bands:
                batch_buckets.setdefault(h, i)


def _best_match(keys: DedupKeys, owner_ids: Iterable[int], candidates: dict[int, _Candidate],
                params: DedupParams) -> tuple[float, int] | None:
    """(Jaccard, cluster original) of the most similar confirmed stored candidate."""
    best: tuple[float, int] | None = None
    if keys.signature is None:
        return None
    for sid in sorted(owner_ids):
        cand = candidates.get(sid)
        if cand is None or cand.signature is None:
            continue
        j = estimate_jaccard(keys.signature, cand.signature)
        if is_same_story(j, title_similarity(keys.title, cand.title), params, keys.facts, cand.facts):
            if best is None or j > best[0]:
                best = (j, cand.root)
    return best


def _best_batch_match(keys: DedupKeys, plans: list[_Plan], idxs: Iterable[int],
                      params: DedupParams) -> tuple[float, int] | None:
    best: tuple[float, int] | None = None
    if keys.signature is None:
        return None
    for i in sorted(idxs):
        other = plans[i].keys
        j = estimate_jaccard(keys.signature, other.signature)
        if is_same_story(j, title_similarity(keys.title, other.title), params, keys.facts, other.facts):
            if best is None or j > best[0]:
                best = (j, i)
    return best


# --- queries ---------------------------------------------------------------------------

def _chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _existing_urls(conn: Connection, urls: set[str]) -> dict[str, tuple[int, int | None]]:
    """url -> (id, duplicate_of) of stored stories."""
    out: dict[str, tuple[int, int | None]] = {}
    for chunk in _chunks(sorted(urls)):
        for url, sid, dup in conn.execute(
                select(STORIES.c.url, STORIES.c.id, STORIES.c.duplicate_of)
                .where(STORIES.c.url.in_(chunk))):
            out[url] = (sid, dup)
    return out


def _originals_by_fingerprint(conn: Connection, fps: set[str]) -> dict[str, int]:
    """fingerprint -> the original story with that normalised text.

    The WHERE repeats the partial unique index's predicate so the index can serve the
    query; on SQLite the fingerprints drive the join (CROSS JOIN fixes the order) because
    its planner, without statistics, otherwise prefers scanning ix_stories_duplicate_of
    for "duplicate_of IS NULL" - every original in the table, per batch.
    """
    if not fps:
        return {}
    values = sorted(fps)
    if conn.dialect.name == "postgresql":
        sql = ("SELECT fingerprint, id FROM stories WHERE fingerprint = ANY(CAST(:f AS TEXT[])) "
               "AND duplicate_of IS NULL AND fingerprint <> ''")
        param = values
    else:
        sql = ("SELECT s.fingerprint, s.id FROM json_each(:f) AS j CROSS JOIN stories AS s "
               "WHERE s.fingerprint = j.value AND s.duplicate_of IS NULL AND s.fingerprint <> ''")
        param = json.dumps(values)
    return dict(conn.execute(text(sql), {"f": param}).all())


def _bucket_owners(conn: Connection, hashes: Iterable[int],
                   exclude: Iterable[int] = ()) -> dict[int, list[int]]:
    """band hash -> stories (other than ``exclude``) that claimed the bucket, in the settled
    and the recent level: one indexed query for the whole batch.

    The values travel as arrays (PostgreSQL) or JSON lists (SQLite), so a batch of 200
    stories x 64 bands is one statement, not thousands of bound values.
    """
    values = sorted(set(hashes))
    if not values:
        return {}
    skip = sorted(set(exclude)) or [0]  # ids start at 1
    if conn.dialect.name == "postgresql":
        match = ("hash = ANY(CAST(:h AS BIGINT[])) "
                 "AND story_id <> ALL(CAST(:x AS BIGINT[]))")
        params = {"h": values, "x": skip}
    else:
        match = ("hash IN (SELECT value FROM json_each(:h)) "
                 "AND story_id NOT IN (SELECT value FROM json_each(:x))")
        params = {"h": json.dumps(values), "x": json.dumps(skip)}
    sql = (f"SELECT hash, story_id FROM story_bands WHERE {match} "
           f"UNION ALL SELECT hash, story_id FROM story_bands_recent WHERE {match}")
    out: dict[int, list[int]] = {}
    for h, sid in conn.execute(text(sql), params):
        out.setdefault(h, []).append(sid)
    return out


def _candidates(conn: Connection, ids: set[int]) -> dict[int, _Candidate]:
    out: dict[int, _Candidate] = {}
    for chunk in _chunks(sorted(ids)):
        for sid, dup, sig, title, body in conn.execute(
                select(STORIES.c.id, STORIES.c.duplicate_of, STORIES.c.minhash, STORIES.c.title,
                       STORIES.c.text)
                .where(STORIES.c.id.in_(chunk))):
            out[sid] = _Candidate(sid, dup or sid, bytes(sig) if sig is not None else None,
                                  " ".join(words(title or "")),
                                  tuple(story_facts(f"{title or ''}\n{body or ''}")))
    return out


def _insert_dialect(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - SQLite and PostgreSQL are the supported databases
        raise NotImplementedError(f"defnews stores stories in SQLite or PostgreSQL, not {conn.dialect.name}")
    return insert


def _row(p: _Plan, run_id: int | None) -> dict:
    r = p.record
    return {
        "source": r.source, "url": r.url, "title": r.title, "text": r.text, "author": r.author,
        "published_at": r.published_at, "date_source": r.date_source, "language": r.language,
        "fetched_at": r.fetched_at, "relevance": r.relevance, "guid": r.guid or None,
        "run_id": run_id, "fingerprint": p.keys.fingerprint, "minhash": p.keys.signature,
        "duplicate_of": p.root if p.status == "duplicate" else None,
        "page_hash": r.page_hash, "etag": r.etag, "last_modified": r.last_modified,
        **search_columns(r.title, r.text, r.extra.get("search") if r.extra else None),
    }


def _insert_stories(conn: Connection, plans: list[_Plan], idxs: list[int],
                    run_id: int | None) -> None:
    """Insert the planned rows; rows another writer beat us to are resolved, not failed."""
    if not idxs:
        return
    insert = _insert_dialect(conn)
    # A stable order (by URL) makes concurrent batches take row locks in the same order.
    idxs = sorted(idxs, key=lambda i: plans[i].record.url)
    stmt = insert(STORIES).on_conflict_do_nothing().returning(STORIES.c.id, STORIES.c.url)
    got: dict[str, int] = {}
    for chunk in _chunks(idxs, 200):
        for sid, url in conn.execute(stmt, [_row(plans[i], run_id) for i in chunk]):
            got[url] = sid
    lost = [i for i in idxs if plans[i].record.url not in got]
    for i in idxs:
        if plans[i].record.url in got:
            plans[i].story_id = got[plans[i].record.url]
    if not lost:
        return
    # Someone committed the same URL, or an original with the same text, meanwhile.
    stored = _existing_urls(conn, {plans[i].record.url for i in lost})
    retry: list[int] = []
    for i in lost:
        p = plans[i]
        if p.record.url in stored:
            p.status, (p.story_id, p.root) = "exists", stored[p.record.url]
            p.batch_root = None
        else:
            retry.append(i)
    by_fp = _originals_by_fingerprint(conn, {plans[i].keys.fingerprint for i in retry} - {""})
    again: list[int] = []
    for i in retry:
        p = plans[i]
        if p.keys.fingerprint in by_fp:
            p.status, p.root, p.batch_root = "duplicate", by_fp[p.keys.fingerprint], None
            again.append(i)
        else:  # pragma: no cover - only a constraint we do not know could do this
            raise RuntimeError(f"story {p.record.url} was neither inserted nor found")
    _insert_stories(conn, plans, again, run_id)


def _insert_bands(conn: Connection, rows: list[tuple[int, int, int]]) -> None:
    """Claim buckets: insert (hash, band, story_id) into the recent level unless taken.
    One statement with array / JSON parameters: band rows are most of what a batch writes
    (64 per new story), so per-row statement overhead would dominate."""
    if conn.dialect.name == "postgresql":
        sql = ("INSERT INTO story_bands_recent (hash, band, story_id) "
               "SELECT * FROM unnest(CAST(:h AS BIGINT[]), CAST(:b AS SMALLINT[]), CAST(:s AS BIGINT[])) "
               "ON CONFLICT DO NOTHING")
        params = {"h": [r[0] for r in rows], "b": [r[1] for r in rows], "s": [r[2] for r in rows]}
    else:
        sql = ("INSERT INTO story_bands_recent (hash, band, story_id) "
               "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') "
               "FROM json_each(:rows) WHERE true ON CONFLICT DO NOTHING")
        params = {"rows": json.dumps(rows)}
    conn.execute(text(sql), params)


def _claim_buckets(conn: Connection, plans: list[_Plan], seen: set[int],
                   params: DedupParams) -> None:
    """Claim the LSH buckets of the new originals, and catch concurrent near-duplicates.

    A bucket that was free when we looked (not in ``seen``) but has another owner now was
    claimed by a story another writer committed meanwhile (PostgreSQL made our insert wait
    for it; SQLite's single writer committed it before our write lock). Compare with it,
    and if it is the same story, turn ours (and anything of this batch pointing at ours)
    into its duplicate - before we commit, so nobody ever sees two originals.
    """
    originals = [p for p in plans if p.status == "new" and p.story_id is not None and p.keys.bands]
    if not originals:
        return
    rows = sorted((h, b, p.story_id) for p in originals for b, h in enumerate(p.keys.bands))
    _insert_bands(conn, rows)  # sorted: one lock order for every writer
    ours = {p.story_id for p in plans if p.story_id is not None}
    unseen = {h for h, _, _ in rows if h not in seen}
    # A new statement: it sees what other writers committed since our first look.
    foreign = _bucket_owners(conn, unseen, exclude=ours)
    if not foreign:
        return
    cands = _candidates(conn, {sid for sids in foreign.values() for sid in sids})
    for p in originals:
        ids = {sid for h in p.keys.bands for sid in foreign.get(h, ())}
        best = _best_match(p.keys, ids, cands, params)
        if best is None or best[1] == p.story_id:
            continue
        root = best[1]
        conn.execute(update(STORIES).where(STORIES.c.id == p.story_id).values(duplicate_of=root))
        conn.execute(update(STORIES).where(STORIES.c.duplicate_of == p.story_id)
                     .values(duplicate_of=root))
        old = p.story_id
        p.status, p.root = "duplicate", root
        for q in plans:
            if q.root == old and q is not p:
                q.root = root


def _settle_buckets(conn: Connection, limit: int, new_ids: list[int]) -> None:
    """Move the recent buckets into ``story_bands`` once there are more than ``limit``.

    One sorted bulk insert touches each page of the big index at most once for many rows,
    where the same rows inserted batch by batch would dirty about one page each: this is
    what keeps the cost per story flat as the table grows. First claim wins on the move
    too (a bucket already settled keeps its owner). PostgreSQL moves exactly the rows it
    deletes, in one statement, so claims committed meanwhile stay in the recent level.

    Counting the recent level costs a scan of it, so it is counted only when this batch's
    new story ids cross a multiple of SETTLE_CHECK_EVERY (ids are global, so all writers
    together count about once per that many stories), or always when ``limit`` is 0.
    """
    if not new_ids:
        return
    every = SETTLE_CHECK_EVERY
    if limit > 0 and max(new_ids) // every == (min(new_ids) - 1) // every:
        return
    count = conn.execute(text("SELECT count(*) FROM story_bands_recent")).scalar_one()
    if count <= limit:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text(
            "WITH moved AS (DELETE FROM story_bands_recent RETURNING hash, band, story_id) "
            "INSERT INTO story_bands (hash, band, story_id) "
            "SELECT hash, band, story_id FROM moved ORDER BY hash, band ON CONFLICT DO NOTHING"))
    else:  # one writer at a time: nothing can land between the two statements
        conn.execute(text(
            "INSERT INTO story_bands (hash, band, story_id) "
            "SELECT hash, band, story_id FROM story_bands_recent WHERE true ORDER BY hash, band "
            "ON CONFLICT DO NOTHING"))
        conn.execute(text("DELETE FROM story_bands_recent"))


def known_guids(factory: sessionmaker[Session], source: str, entries: Mapping[str, str | None], *,
                reject_below: float = 0.0, vocabulary: str | None = None) -> set[str]:
    """Feed GUIDs (-> entry signature) `source` already stored, or rejected with the entry
    unchanged, the same `vocabulary` and a score below `reject_below`: not refetched."""
    with factory() as session:
        known = seen_guids(session, source, entries, stored_only=True)
        rest = {g: sig for g, sig in entries.items() if g not in known}
        return known | still_rejected_guids(session, source, rest, reject_below, vocabulary)


def known_urls(factory: sessionmaker[Session], source: str, urls: Iterable[str], *,
               reject_below: float = 0.0, vocabulary: str | None = None) -> set[str]:
    """Canonical URLs stored, or rejected for `source` (same `vocabulary`, score below
    `reject_below`): listing and sitemap links to them are not refetched."""
    wanted = set(urls)
    stored = stored_urls(factory, wanted)
    with factory() as session:
        return stored | still_rejected_urls(session, source, wanted - stored, reject_below, vocabulary)
