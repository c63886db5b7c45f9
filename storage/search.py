"""Full-text search over stories: the folded columns, the index DDL and the match syntax.

Arabic prints one word in many spellings (diacritics, tatweel, أ/إ/آ/ا, ة/ه, ى/ي). Neither
FTS5's tokenizers nor PostgreSQL's text search configurations fold those, and a Python
tokenizer cannot be plugged into either. So the folding happens in Python, once, when a
story is stored: ``search_columns`` writes the headline and text folded by
crawler.text.arabic.normalize into ``stories.search_title`` / ``search_body``; the databases
index those columns with their own machinery, and a query folded by the same function
matches every spelling. The stored ``title`` and ``text`` keep the spelling as published.

- SQLite: an FTS5 table with external content (``stories_fts``, no second copy of the
  text) kept by triggers on ``stories``; ranked by bm25 with the headline weighted.
- PostgreSQL: a generated ``search_tsv`` column (headline weight A, body B, 'simple'
  configuration: no stemming, the folding already happened) with a GIN index.

Both are created by migration 0003_search for existing databases. They are not in the
SQLAlchemy models (virtual tables, triggers and generated tsvectors have no portable
model); ``include_name`` tells alembic's comparison to leave them alone.
"""

from __future__ import annotations

from crawler.text.folding import MAX_SEARCH_CHARS, fold
from crawler.text.highlight import PREFIX_FROM

__all__ = ["MAX_SEARCH_CHARS", "fold", "search_columns"]
#: Headline hits count this much more than body hits in the relevance ranking.
TITLE_WEIGHT = 4.0
MAX_TERMS = 12

FTS_TABLE = "stories_fts"
TSV_COLUMN = "search_tsv"
RIVER_INDEX = "ix_stories_river"
SOURCE_RIVER_INDEX = "ix_stories_source_river"
TSV_INDEX = "ix_stories_search_tsv"
KEYS_INDEX = "ix_stories_keys"
_UNMODELLED_INDEXES = {RIVER_INDEX, SOURCE_RIVER_INDEX, TSV_INDEX, KEYS_INDEX}

#: The reader's order: newest first by publication (fetch time where it is unknown).
#: The expression is spelled exactly as in the river indexes so the planners use them.
RIVER_TIME_SQL = "coalesce(published_at, fetched_at)"

SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(search_title, search_body, "
    "content='stories', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON stories BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, search_title, search_body) "
    "VALUES (new.id, new.search_title, new.search_body); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON stories BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_title, search_body) "
    "VALUES ('delete', old.id, old.search_title, old.search_body); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF search_title, search_body "
    f"ON stories BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_title, search_body) "
    "VALUES ('delete', old.id, old.search_title, old.search_body); "
    f"INSERT INTO {FTS_TABLE}(rowid, search_title, search_body) "
    "VALUES (new.id, new.search_title, new.search_body); END",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
)
POSTGRESQL_DDL = (
    f"ALTER TABLE stories ADD COLUMN IF NOT EXISTS {TSV_COLUMN} tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, search_title), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, search_body), 'B')) STORED",
    f"CREATE INDEX IF NOT EXISTS {TSV_INDEX} ON stories USING gin ({TSV_COLUMN})",
)
#: The river's keyset pages walk these indexes in order. PostgreSQL (which keeps statistics
#: and plans well) gets a partial index of the originals. SQLite's planner, seeing
#: "duplicate_of IS NULL", takes ix_stories_duplicate_of instead (every original, then a
#: sort), so there the river index holds duplicate_of too and the reader writes the test as
#: ``duplicate_of + 0 IS NULL``, which only the river index can answer (storage/reader.py).
#: SQLite also gets ix_stories_keys: looked up by id, it answers the search's filters
#: without reading the story row, whose text overflows into pages of their own.
RIVER_DDL_POSTGRESQL = (
    f"CREATE INDEX IF NOT EXISTS {RIVER_INDEX} ON stories ({RIVER_TIME_SQL} DESC, id DESC) "
    "WHERE duplicate_of IS NULL",
    f"CREATE INDEX IF NOT EXISTS {SOURCE_RIVER_INDEX} ON stories "
    f"(source, {RIVER_TIME_SQL} DESC, id DESC, duplicate_of)",
)
RIVER_DDL_SQLITE = (
    f"CREATE INDEX IF NOT EXISTS {RIVER_INDEX} ON stories ({RIVER_TIME_SQL} DESC, id DESC, duplicate_of)",
    f"CREATE INDEX IF NOT EXISTS {SOURCE_RIVER_INDEX} ON stories "
    f"(source, {RIVER_TIME_SQL} DESC, id DESC, duplicate_of)",
    f"CREATE INDEX IF NOT EXISTS {KEYS_INDEX} ON stories "
    f"(id, duplicate_of, source, language, {RIVER_TIME_SQL})",
)


def search_columns(title: str | None, text: str | None,
                   folded: tuple[str, str] | None = None) -> dict[str, str]:
    """The values of ``search_title`` / ``search_body`` for a story; every writer of a
    story's title or text (insert, correction) must write these with it. ``folded``: the
    two forms when the pool worker computed them already (crawler.text.folding)."""
    if folded is not None:
        return {"search_title": folded[0], "search_body": folded[1]}
    return {"search_title": fold(title), "search_body": fold(text)}


def query_terms(q: str) -> list[str]:
    """The words of a search, folded like the indexed side; at most MAX_TERMS.

    Words match whole words: a prefix match costs the index a merge of every word that
    starts with it, several times the cost of a word. A word the user ends with ``*``
    (at least PREFIX_FROM letters) matches as a prefix ("صاروخ*" finds "صاروخية"); such
    terms keep the ``*``."""
    seen: list[str] = []
    for raw in q.split():
        prefix = raw.endswith("*")
        for word in fold(raw).split():
            term = word + "*" if prefix and len(word) >= PREFIX_FROM else word
            if term not in seen:
                seen.append(term)
    return seen[:MAX_TERMS]


def fts5_match(terms: list[str], *, any_term: bool = False) -> str:
    """An FTS5 MATCH expression of ``query_terms``; quoting makes any user input a plain
    string, never FTS5 syntax."""
    parts = ['"' + t.rstrip("*").replace('"', '""') + '"' + ("*" if t.endswith("*") else "")
             for t in terms]
    return (" OR " if any_term else " AND ").join(parts)


def tsquery(terms: list[str], *, any_term: bool = False, weight: str = "") -> str:
    """The same query for PostgreSQL's to_tsquery('simple', ...): quoted lexemes, limited
    to the lexemes of one ``weight`` when given ("A": the headline)."""
    parts = []
    for t in terms:
        lexeme = "'" + t.rstrip("*").replace("\\", "\\\\").replace("'", "''") + "'"
        marks = ("*" if t.endswith("*") else "") + weight
        parts.append(lexeme + (":" + marks if marks else ""))
    return (" | " if any_term else " & ").join(parts)


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """alembic comparison filter: skip the search objects that live outside the models."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    if type_ == "index" and name in _UNMODELLED_INDEXES:
        return False
    if type_ == "column" and name == TSV_COLUMN:
        return False
    return True
