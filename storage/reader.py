"""What the web reader reads: story lists (river and search), one story, its copies and
related stories. All of the reader's SQL is here; crawler/web has none.

Lists are paged by a keyset on (time, id), time being ``coalesce(published_at,
fetched_at)``: a page costs an index walk of its own length however deep it is, where an
OFFSET would read and throw away every row before it. Relevance-ranked search pages by
offset, bounded (MAX_OFFSET): ranking needs every match anyway.

The reader must show what is there even when a row is odd: on SQLite a date column can
hold text that is no date, and a text column bytes that are no UTF-8. Dates are therefore
read as text there and parsed row by row, the connections decode text with replacement,
and a row that still cannot be turned into a StoryRow is skipped with a warning instead
of failing the page.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import (Engine, Select, String, bindparam, event, null, func, literal_column, or_, select,
                        text, type_coerce)
from sqlalchemy.orm import Session, sessionmaker

from crawler import defaults
from storage.db import as_utc, init_db, make_engine
from storage.models import Source, Story
from storage.search import (FTS_TABLE, KEYS_INDEX, RIVER_TIME_SQL, TITLE_WEIGHT, TSV_COLUMN, fts5_match,
                            query_terms, tsquery)

log = logging.getLogger(__name__)

#: What the web layer holds to open sessions (it names no SQLAlchemy type itself).
SessionFactory = sessionmaker[Session]
MAX_OFFSET = defaults.MAX_OFFSET
RANK_AMONG = defaults.RANK_AMONG  # module-level so a test can lower it
#: PostgreSQL ranks at least this many of the newest matches (fewer than SQLite: each row
#: it ranks costs a TOAST read), found in windows of the newest stories, from this many up.
PG_RANK_AMONG = 200
PG_RANK_WINDOW = 2000
#: Related stories: the longest words of the headline, among the stories stored within this
#: many ids of it (news is related to what was published around it; the id range is what
#: the full-text index can seek, so the cost does not grow with the archive).
RELATED_TERMS = 5
RELATED_NEAR = 2000
#: Time-ordered searches matching more than this look in a window of the newest stories first.
WINDOW_FROM = 2000
WINDOW_START = 500
_WHEN = literal_column(RIVER_TIME_SQL, type_=Story.published_at.type)
_COLUMNS = ("id", "source", "url", "title", "published_at", "fetched_at", "author", "language",
            "text", "duplicate_of", "updated_at")
_DATES = ("published_at", "fetched_at", "updated_at")


@dataclass(frozen=True)
class Filters:
    """What a list shows: the contract's query parameters, already validated."""

    q: str = ""
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    lang: str = ""
    duplicates: bool = False  # copies too, not only originals


@dataclass(frozen=True)
class Cursor:
    """The position after the last story of a page: its time and id."""

    when: datetime
    id: int

    def token(self) -> str:
        micros = int(self.when.timestamp() * 1_000_000)
        return f"{micros}_{self.id}"

    @classmethod
    def parse(cls, token: str) -> "Cursor":
        """Raises ValueError on anything that is not a token of ``token()``."""
        micros, _, sid = token.partition("_")
        when = datetime.fromtimestamp(int(micros) / 1_000_000, tz=timezone.utc)
        return cls(when, int(sid))


@dataclass
class StoryRow:
    id: int
    source: str
    url: str
    title: str
    published_at: datetime | None
    fetched_at: datetime | None
    author: str
    language: str
    text: str
    duplicate_of: int | None
    updated_at: datetime | None = None  # when a correction was last stored (storage/corrections.py)
    score: float | None = None
    copies: list["StoryRow"] = field(default_factory=list)

    @property
    def when(self) -> datetime | None:
        return self.published_at or self.fetched_at


@dataclass
class Page:
    stories: list[StoryRow]
    next_cursor: Cursor | None = None  # time order: the next page starts after this
    next_offset: int | None = None  # relevance order


# --- the engine ------------------------------------------------------------------------

def open_reader(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """Migrate the schema (so an old database gets its search index), then hand out an
    engine whose connections cannot write: the reader has no write endpoint, and this
    makes sure no bug can turn a request into a write either."""
    engine = make_engine(url)
    init_db(engine)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn, _record):
            dbapi_conn.text_factory = lambda b: b.decode("utf-8", "replace")
            dbapi_conn.execute("PRAGMA query_only=ON")
    else:
        @event.listens_for(engine, "connect")
        def _read_only_pg(dbapi_conn, _record):
            with dbapi_conn.cursor() as cur:
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_conn.commit()
    engine.dispose()  # connections made by the migration were writable
    return engine, sessionmaker(engine, expire_on_commit=False)


# --- rows ------------------------------------------------------------------------------

def _date(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return as_utc(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def _select(session: Session, *extra) -> Select:
    """The story columns; dates as text on SQLite (parsed per row by ``_date``)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    cols = [type_coerce(getattr(Story, c), String).label(c)
            if sqlite and c in _DATES else getattr(Story, c)
            for c in _COLUMNS]
    return select(*cols, *extra)


def _rows(result: Iterable, with_score: bool = False) -> list[StoryRow]:
    out: list[StoryRow] = []
    for row in result:
        try:
            m = row._mapping
            out.append(StoryRow(
                id=int(m["id"]), source=str(m["source"] or ""), url=str(m["url"] or ""),
                title=str(m["title"] or ""), published_at=_date(m["published_at"]),
                fetched_at=_date(m["fetched_at"]), author=str(m["author"] or ""),
                language=str(m["language"] or ""), text=str(m["text"] or ""),
                duplicate_of=int(m["duplicate_of"]) if m["duplicate_of"] is not None else None,
                updated_at=_date(m["updated_at"]),
                score=float(m["score"]) if with_score and m["score"] is not None else None))
        except Exception as exc:  # one bad row must not take the page down
            log.warning("story row skipped: %s", exc)
    return out


def _filtered(session: Session, q: Select, f: Filters) -> Select:
    if not f.duplicates:
        if session.get_bind().dialect.name == "sqlite":  # see storage/search.py, RIVER_DDL_*
            q = q.where((Story.duplicate_of + 0).is_(None))
        else:
            q = q.where(Story.duplicate_of.is_(None))
    if f.sources:
        q = q.where(Story.source.in_(list(f.sources)))
    if f.lang:
        q = q.where(Story.language == f.lang)
    if f.since is not None:
        q = q.where(_WHEN >= f.since)
    if f.until is not None:
        q = q.where(_WHEN < f.until)
    return q


def _keyset(q: Select, before: Cursor | None, limit: int) -> Select:
    """Stories after the cursor, newest first. Written ``t <= T AND (t < T OR id < I)``
    rather than ``(t, id) < (T, I)``: SQLite seeks the river index on the first form and
    scans it from the top on the second (a deep page then costs its depth)."""
    if before is not None:
        cur = bindparam("cur_when", before.when, type_=Story.published_at.type)
        q = q.where(_WHEN <= cur).where(or_(_WHEN < cur, Story.id < bindparam("cur_id", before.id)))
    return q.order_by(_WHEN.desc(), Story.id.desc()).limit(limit + 1)


def _fetch(session: Session, keys: list, limit: int, with_score: bool) -> list[StoryRow]:
    """Phase two: the whole rows of a page's ids (phase one found and ordered them reading
    only indexes), in phase one's order."""
    ids = [int(k._mapping["id"]) for k in keys[:limit]]
    if not ids:
        return []
    by_id = {r.id: r for r in _rows(session.execute(_select(session).where(Story.id.in_(ids))))}
    out = []
    for k in keys[:limit]:
        row = by_id.get(int(k._mapping["id"]))
        if row is not None:
            if with_score and k._mapping["score"] is not None:
                row.score = float(k._mapping["score"])
            out.append(row)
    return out


def _when_column(session: Session):
    sqlite = session.get_bind().dialect.name == "sqlite"
    return (type_coerce(_WHEN, String) if sqlite else _WHEN).label("_when")  # see _date


# --- lists -----------------------------------------------------------------------------

def list_stories(session: Session, f: Filters, *, limit: int = 30, before: Cursor | None = None,
                 sort: str = "time", offset: int = 0) -> Page:
    """The river (no ``f.q``) or search results, one page. ``sort`` is "time" (keyset via
    ``before``) or "relevance" (search only, paged by ``offset``).

    Two phases: the page's ids in order (from the indexes alone where possible: the story
    rows hold the text, which is most of their bytes), then those rows."""
    terms = query_terms(f.q)
    if f.q and not terms:  # punctuation only: nothing can match
        return Page([])
    if not terms:
        q = _filtered(session, select(Story.id, _when_column(session)), f)
        keys = session.execute(_keyset(q, before, limit)).all()
        return _time_ordered_page(session, keys, limit, False)
    keys = search_keys(session, f, terms, sort=sort, limit=limit + 1, offset=offset, before=before)
    if sort == "relevance":
        page = Page(_fetch(session, keys, limit, True))
        if len(keys) > limit and offset + limit <= MAX_OFFSET:
            page.next_offset = offset + limit
        return page
    return _time_ordered_page(session, keys, limit, True)


def _time_ordered_page(session: Session, keys: list, limit: int, with_score: bool) -> Page:
    page = Page(_fetch(session, keys, limit, with_score))
    if len(keys) > limit:
        last = keys[limit - 1]._mapping
        when = _date(last["_when"]) or datetime.fromtimestamp(0, timezone.utc)
        page.next_cursor = Cursor(when, int(last["id"]))
    return page


def search_keys(session: Session, f: Filters, terms: list[str], *, sort: str, limit: int,
                offset: int = 0, before: Cursor | None = None, any_term: bool = False,
                title_only: bool = False, exclude: Sequence[int] = (),
                near: tuple[int, int] | None = None) -> list:
    """Phase one of a search: (id, score, _when) of the matching stories in order.

    Relevance has to score every match before it can take the best, so a term found in
    very many stories would cost in proportion to the archive. Where a search matches more
    than RANK_AMONG stories, the ranking is done among the RANK_AMONG most recently stored
    of them (a news reader wants recent stories first anyway); any narrower search ranks
    all its matches.

    Time order stays exact at any depth. A common word's newest matches lie among the
    newest stories, so such a search first looks in a window of the newest ``w`` stories
    before the cursor (read from the river index; the id range of the window narrows the
    full-text lookup); when the window holds a full page of matches, that page is the
    answer, else the window grows eightfold, and finally the whole archive is searched.
    """
    args = dict(sort=sort, limit=limit, offset=offset, before=before, any_term=any_term,
                title_only=title_only, exclude=exclude, near=near)
    run = _pg_search_keys if session.get_bind().dialect.name == "postgresql" else _sqlite_search_keys
    if sort == "time" and _matches_more_than(session, terms, any_term, title_only, WINDOW_FROM):
        w = WINDOW_START
        while (window := _window(session, f, before, w)) is not None:
            keys = run(session, f, terms, window=window, **args)
            if len(keys) >= limit:
                return keys
            w *= 8
    return run(session, f, terms, window=None, **args)


def _matches_more_than(session: Session, terms: list[str], any_term: bool, title_only: bool,
                       n: int) -> bool:
    """Whether the search matches more than ``n`` stories (stops counting at n + 1)."""
    if session.get_bind().dialect.name == "postgresql":
        q = select(Story.id).where(_pg_match(terms, any_term, title_only)[0]).offset(n).limit(1)
        return session.execute(q).first() is not None
    sql = (f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts "
           "ORDER BY rowid DESC LIMIT 1 OFFSET :n")
    return session.execute(text(sql), {"fts": _fts_match(terms, any_term, title_only),
                                       "n": n}).first() is not None


def _window(session: Session, f: Filters, before: Cursor | None, w: int) -> tuple | None:
    """(lowest id, time, id) bounding the ``w`` newest stories before the cursor, from the
    river index alone; None when fewer than ``w`` remain (then the window is everything)."""
    q = _filtered(session, select(Story.id, _when_column(session)), Filters(duplicates=f.duplicates))
    q = _keyset(q, before, w - 1)  # LIMIT w
    last = session.execute(q.offset(w - 1).limit(1).order_by(None)
                           .order_by(_WHEN.desc(), Story.id.desc())).first()
    if last is None:
        return None
    inner = q.subquery()
    low = session.execute(select(func.min(inner.c.id))).scalar()
    return low, last._mapping["_when"], int(last._mapping["id"])


def _pg_match(terms: list[str], any_term: bool, title_only: bool):
    query = tsquery(terms, any_term=any_term, weight="A" if title_only else "")  # A: headline
    tsq = func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("tsq", query, type_=String))
    return literal_column(TSV_COLUMN).op("@@")(tsq), func.ts_rank(literal_column(TSV_COLUMN), tsq)


def _fts_match(terms: list[str], any_term: bool, title_only: bool) -> str:
    match = fts5_match(terms, any_term=any_term)
    return "{search_title} : (" + match + ")" if title_only else match


def _pg_search_keys(session: Session, f: Filters, terms: list[str], *, sort: str, limit: int,
                    offset: int, before: Cursor | None, any_term: bool, title_only: bool,
                    exclude: Sequence[int], window: tuple | None,
                    near: tuple[int, int] | None) -> list:
    """PostgreSQL keeps a story's text and tsvector out of line (TOAST), so every row a
    query reads or ranks costs a page and a decompression (~50 us). The GIN index finds the
    matches without reading rows; what is read and ranked is kept small: headline matches
    for related stories are checked on the headline alone, and relevance ranks the matches
    among the newest stories, a window that grows until it holds PG_RANK_AMONG matches."""
    if title_only:  # related stories: the headline's own tsvector, computed on the few rows
        title_tsv = func.to_tsvector(literal_column("'simple'::regconfig"), Story.search_title)
        tsq = func.to_tsquery(literal_column("'simple'::regconfig"),
                              bindparam("tsq", tsquery(terms, any_term=any_term), type_=String))
        matches, score = title_tsv.op("@@")(tsq), func.ts_rank(title_tsv, tsq)
    else:
        matches, score = _pg_match(terms, any_term, False)
    scored = score if sort == "relevance" else null()  # time order needs no score
    q = _filtered(session, select(Story.id, scored.label("score"), _when_column(session))
                  .where(matches), f)
    if exclude:
        q = q.where(Story.id.not_in(list(exclude)))
    if sort != "relevance":
        if window is not None:
            w_when = bindparam("w_when", window[1], type_=Story.published_at.type)
            q = q.where(Story.id >= window[0]).where(_WHEN >= w_when).where(
                or_(_WHEN > w_when, Story.id >= bindparam("w_id", window[2])))
        return session.execute(_keyset(q, before, limit - 1)).all()
    if near is not None:
        q = q.where(Story.id.between(*near))
    else:
        top = session.execute(select(func.max(Story.id))).scalar() or 0
        span = PG_RANK_WINDOW
        while span < top:
            found = session.execute(select(func.count()).select_from(
                select(Story.id).where(matches).where(Story.id > top - span)
                .limit(PG_RANK_AMONG).subquery())).scalar()
            if found >= PG_RANK_AMONG:
                q = q.where(Story.id > top - span)
                break
            span *= 8
    q = q.order_by(score.desc(), Story.id.desc()).offset(offset).limit(limit)
    return session.execute(q).all()


def _sqlite_search_keys(session: Session, f: Filters, terms: list[str], *, sort: str, limit: int,
                        offset: int, before: Cursor | None, any_term: bool, title_only: bool,
                        exclude: Sequence[int], window: tuple | None,
                        near: tuple[int, int] | None) -> list:
    """The SQLite query is written out: it must read the filter columns from
    ix_stories_keys (INDEXED BY, which SQLAlchemy cannot express for SQLite), since the
    planner would otherwise read each matching story's row, text and all."""
    match = _fts_match(terms, any_term, title_only)
    when = RIVER_TIME_SQL.replace("published_at", "s.published_at").replace("fetched_at", "s.fetched_at")
    where = [f"{FTS_TABLE} MATCH :fts"]
    params: dict[str, Any] = {"fts": match, "limit": limit, "offset": offset}
    if not f.duplicates:
        where.append("s.duplicate_of + 0 IS NULL")
    if f.sources:
        where.append("s.source IN (SELECT value FROM json_each(:sources))")
        params["sources"] = json.dumps(list(f.sources))
    if f.lang:
        where.append("s.language = :lang")
        params["lang"] = f.lang
    if f.since is not None:
        where.append(f"{when} >= :since")
        params["since"] = _sqlite_time(f.since)
    if f.until is not None:
        where.append(f"{when} < :until")
        params["until"] = _sqlite_time(f.until)
    if exclude:
        where.append("s.id NOT IN (SELECT value FROM json_each(:exclude))")
        params["exclude"] = json.dumps([int(i) for i in exclude])
    if sort == "relevance":
        if near is not None:
            where.append(f"{FTS_TABLE}.rowid BETWEEN :near_lo AND :near_hi")
            params.update(near_lo=near[0], near_hi=near[1])
        else:
            cut = session.execute(text(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts "
                "ORDER BY rowid DESC LIMIT 1 OFFSET :among"), {"fts": match, "among": RANK_AMONG}).scalar()
            if cut is not None:
                where.append(f"{FTS_TABLE}.rowid > :cut")
                params["cut"] = cut
        order = "score ASC, s.id DESC LIMIT :limit OFFSET :offset"
    else:
        if before is not None:
            where.append(f"{when} <= :bwhen AND ({when} < :bwhen OR s.id < :bid)")
            params.update(bwhen=_sqlite_time(before.when), bid=before.id)
        if window is not None:  # _when is the stored text here: compared as stored
            where.append(f"{FTS_TABLE}.rowid >= :wlow AND {when} >= :wwhen "
                         f"AND ({when} > :wwhen OR s.id >= :wid)")
            params.update(wlow=window[0], wwhen=window[1], wid=window[2])
        order = f"{when} DESC, s.id DESC LIMIT :limit"
    score = f"bm25({FTS_TABLE}, {TITLE_WEIGHT}, 1.0)" if sort == "relevance" else "NULL"
    sql = (f"SELECT s.id AS id, {score} AS score, "
           f"CAST({when} AS TEXT) AS _when "
           f"FROM {FTS_TABLE} JOIN stories AS s INDEXED BY {KEYS_INDEX} ON s.id = {FTS_TABLE}.rowid "
           f"WHERE {' AND '.join(where)} ORDER BY {order}")
    return session.execute(text(sql), params).all()


def _sqlite_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite, to compare with stored values."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


# --- one story -------------------------------------------------------------------------

def get_story(session: Session, story_id: int) -> StoryRow | None:
    rows = _rows(session.execute(_select(session).where(Story.id == story_id)))
    return rows[0] if rows else None


def cluster(session: Session, story: StoryRow) -> list[StoryRow]:
    """The other members of the story's cluster (its original and copies), oldest first."""
    root = story.duplicate_of or story.id
    q = (_select(session).where(or_(Story.id == root, Story.duplicate_of == root))
         .where(Story.id != story.id).order_by(_WHEN.asc(), Story.id.asc()).limit(500))
    return _rows(session.execute(q))


def copies_of(session: Session, ids: Sequence[int], per_story: int = 50) -> dict[int, list[StoryRow]]:
    """The copies of each listed original (one query for a whole page)."""
    if not ids:
        return {}
    q = (_select(session).where(Story.duplicate_of.in_(list(ids)))
         .order_by(Story.duplicate_of, _WHEN.asc(), Story.id.asc()))
    out: dict[int, list[StoryRow]] = {}
    for row in _rows(session.execute(q)):
        group = out.setdefault(row.duplicate_of or 0, [])
        if len(group) < per_story:
            group.append(replace(row, text=""))
    return out


def related(session: Session, story: StoryRow, limit: int = 5) -> list[StoryRow]:
    """Stories close to this one: originals outside its cluster whose headlines share its
    headline's words, best first (the search index on headlines, so it costs one query)."""
    terms = [t for t in query_terms(story.title) if len(t) >= 3 and not t.isdigit()]
    terms = sorted(terms, key=len, reverse=True)[:RELATED_TERMS]
    if not terms:
        return []
    keys = search_keys(session, Filters(), terms, sort="relevance", limit=limit, any_term=True,
                       title_only=True, exclude=sorted({story.id, story.duplicate_of or story.id}),
                       near=(story.id - RELATED_NEAR, story.id + RELATED_NEAR))
    return [replace(r, text="") for r in _fetch(session, keys, limit, True)]


def stored_sources(session: Session) -> list[str]:
    """Names of the sources known to the database (configured or with stories)."""
    names = set(session.scalars(select(Source.name)))
    return sorted(names)
