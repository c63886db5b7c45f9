"""The reader's storage side: the search index on an existing database (migration
0003_search backfills it), the triggers that keep it current, and pages that survive an
odd row."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from crawler.config import Config, SourceConfig
from crawler.web.app import create_app
from storage.db import open_db
from storage.migrate import alembic_config
from storage.reader import Filters, get_story, list_stories, open_reader
from storage.search import search_columns
from tests.web.readerdata import ISRAEL_TEXT, NOW, fill

_OLD_ROW = ("INSERT INTO stories (source, url, title, published_at, date_source, author, language, "
            "text, fetched_at, fingerprint) VALUES ('old', :url, :title, :pub, 'meta', '', 'ar', :text, "
            ":pub, :fp)")


def _at_revision_0001(url: str) -> None:
    """A database as defnews made it before the search index existed, with two stories."""
    engine = create_engine(url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        for i, title in enumerate(("إسرائيل تختبر منظومة", "الجيش يتسلم دبابات")):
            conn.execute(text(_OLD_ROW), {"url": f"https://old.example/{i}", "title": title,
                                          "pub": NOW, "text": ISRAEL_TEXT if i == 0 else "دبابات جديدة",
                                          "fp": f"fp{i}"})
    engine.dispose()


def _search(url: str, q: str) -> list[str]:
    engine, factory = open_reader(url)
    try:
        with factory() as session:
            return [r.url for r in list_stories(session, Filters(q=q), sort="relevance").stories]
    finally:
        engine.dispose()


def _check_migration_backfills(url: str) -> None:
    _at_revision_0001(url)
    open_db(url)[0].dispose()  # what any defnews command does first: migrate to head
    assert _search(url, "اسرائيل") == ["https://old.example/0"]
    assert _search(url, "القوات") == ["https://old.example/0"]  # القُوّات in the text
    assert _search(url, "دبابات") == ["https://old.example/1"]


def test_migration_indexes_stories_stored_before_it_sqlite(tmp_path):
    _check_migration_backfills(f"sqlite:///{tmp_path / 'old.db'}")


def test_migration_indexes_stories_stored_before_it_postgresql(pg_schema_url):
    _check_migration_backfills(pg_schema_url)


def _check_index_follows_updates_and_deletes(url: str) -> None:
    ids = fill(url, bulk=3)
    sid = ids["https://beta.example/tanks"]
    engine, factory = open_db(url)
    try:
        cols = search_columns("الجيش يتسلم مدرعات", "مدرعات حديثة")
        with factory.begin() as session:  # a correction, as storage writes one
            session.execute(text("UPDATE stories SET title = :t, text = :x, search_title = :st, "
                                 "search_body = :sb WHERE id = :id"),
                            {"id": sid, "t": "الجيش يتسلم مدرعات", "x": "مدرعات حديثة",
                             "st": cols["search_title"], "sb": cols["search_body"]})
    finally:
        engine.dispose()
    assert _search(url, "مدرعات") == ["https://beta.example/tanks"]
    assert _search(url, "مصطفى") == []  # the old text is out of the index
    engine, factory = open_db(url)
    try:
        with factory.begin() as session:
            session.execute(text("DELETE FROM stories WHERE id = :id"), {"id": sid})
    finally:
        engine.dispose()
    assert _search(url, "مدرعات") == []


def test_index_follows_updates_and_deletes_sqlite(tmp_path):
    _check_index_follows_updates_and_deletes(f"sqlite:///{tmp_path / 'u.db'}")


def test_index_follows_updates_and_deletes_postgresql(pg_schema_url):
    _check_index_follows_updates_and_deletes(pg_schema_url)


def test_one_bad_row_does_not_break_a_page(tmp_path):
    """A date that is no date and bytes that are no UTF-8 (SQLite stores whatever it is
    given): the page still renders, the odd story shown as well as it can be."""
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    ids = fill(url, bulk=2)
    engine, factory = open_db(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE stories SET published_at = 'not a date', "
                          "title = CAST(x'fffe41d8' AS TEXT) WHERE id = :id"),
                     {"id": ids["https://beta.example/tanks"]})
        conn.execute(text("UPDATE stories SET fetched_at = 'garbage', published_at = NULL "
                          "WHERE id = :id"), {"id": ids["https://alpha.example/xss"]})
    engine.dispose()
    engine, factory = open_reader(url)
    cfg = Config(sources=[SourceConfig(name="alpha", url="https://alpha.example/")])
    try:
        with TestClient(create_app(factory, cfg, now=lambda: NOW)) as client:
            r = client.get("/")
            assert r.status_code == 200
            assert f'id="s{ids["https://alpha.example/israel"]}"' in r.text
            assert f'id="s{ids["https://beta.example/tanks"]}"' in r.text
            assert client.get(f"/story/{ids['https://beta.example/tanks']}").status_code == 200
            assert client.get(f"/story/{ids['https://alpha.example/xss']}").status_code == 200
            assert client.get("/?format=json").status_code == 200
            assert client.get("/?format=csv").status_code == 200
            assert client.get("/feed").status_code == 200
        with factory() as session:
            assert get_story(session, ids["https://beta.example/tanks"]).published_at is None
    finally:
        engine.dispose()


def _check_ranking_is_bounded(url: str, monkeypatch) -> None:
    import storage.reader as reader

    fill(url, bulk=20)
    engine, factory = open_reader(url)
    try:
        with factory() as session:
            every = list_stories(session, Filters(q="الجيش"), sort="time", limit=200).stories
            assert len(every) > 8
            monkeypatch.setattr(reader, "RANK_AMONG", 5)
            monkeypatch.setattr(reader, "PG_RANK_AMONG", 5)
            monkeypatch.setattr(reader, "PG_RANK_WINDOW", 2)
            ranked = list_stories(session, Filters(q="الجيش"), sort="relevance", limit=200).stories
            # the pool: at least 5 matches, the most recently stored ones, not all of them
            newest = sorted((r.id for r in every), reverse=True)[:len(ranked)]
            assert 5 <= len(ranked) < len(every)
            assert sorted(r.id for r in ranked) == sorted(newest)
            # time order is not bounded, and a narrow search still ranks all it finds
            assert len(list_stories(session, Filters(q="الجيش"), sort="time", limit=200).stories) == len(every)
            assert [r.url for r in list_stories(session, Filters(q="مصطفى"), sort="relevance").stories] \
                == ["https://beta.example/tanks"]
    finally:
        engine.dispose()


def test_relevance_ranks_at_most_the_newest_matches_sqlite(tmp_path, monkeypatch):
    _check_ranking_is_bounded(f"sqlite:///{tmp_path / 'r.db'}", monkeypatch)


def test_relevance_ranks_at_most_the_newest_matches_postgresql(pg_schema_url, monkeypatch):
    _check_ranking_is_bounded(pg_schema_url, monkeypatch)


def _check_time_windows_are_exact(url: str, monkeypatch) -> None:
    """Time-ordered search through small windows pages through exactly what one query
    over the whole archive returns (windows only make common words cheap)."""
    import storage.reader as reader

    fill(url, bulk=40)
    engine, factory = open_reader(url)
    try:
        with factory() as session:
            for f in (Filters(q="الجيش"), Filters(q="القوات", sources=("bulk",)),
                      Filters(q="الجيش", duplicates=True)):
                monkeypatch.setattr(reader, "WINDOW_FROM", 10**9)
                whole = [r.id for r in list_stories(session, f, sort="time", limit=200).stories]
                monkeypatch.setattr(reader, "WINDOW_FROM", 1)
                monkeypatch.setattr(reader, "WINDOW_START", 2)
                paged, before = [], None
                for _ in range(100):
                    page = list_stories(session, f, sort="time", limit=3, before=before)
                    paged += [r.id for r in page.stories]
                    before = page.next_cursor
                    if before is None:
                        break
                assert len(whole) > 6 and paged == whole, f
    finally:
        engine.dispose()


def test_time_ordered_search_windows_are_exact_sqlite(tmp_path, monkeypatch):
    _check_time_windows_are_exact(f"sqlite:///{tmp_path / 'w.db'}", monkeypatch)


def test_time_ordered_search_windows_are_exact_postgresql(pg_schema_url, monkeypatch):
    _check_time_windows_are_exact(pg_schema_url, monkeypatch)


def _check_a_correction_reaches_search_and_pages(url: str) -> None:
    """A re-checked story whose text changed (storage/corrections.py) is found by its new
    words, no longer by its old ones, and the river and its page say it was updated."""
    from dataclasses import replace as copy_with

    from storage.corrections import apply_corrections
    from tests.web.readerdata import records

    ids = fill(url, bulk=2)
    tanks = next(r for r in records(2) if r.url == "https://beta.example/tanks")
    corrected = copy_with(tanks, title="الجيش المصري يتسلم مدرعات مطورة", page_hash="",
                          text=tanks.text.replace("مصطفى حسن", "خالد سعيد") + "\n\nتصحيح: مدرعات لا دبابات.")
    engine, factory = open_db(url)
    try:
        assert apply_corrections(factory, [(ids[tanks.url], corrected)]) == ["updated"]
    finally:
        engine.dispose()
    assert _search(url, "مدرعات") == [tanks.url]
    assert _search(url, "مصطفى") == []
    engine, factory = open_reader(url)
    cfg = Config(sources=[SourceConfig(name="beta", url="https://beta.example/")])
    try:
        with TestClient(create_app(factory, cfg)) as client:
            river = client.get("/?source=beta").text
            assert "عُدّل" in river and "مدرعات مطورة" in river
            page = client.get(f"/story/{ids[tanks.url]}").text
            assert "خالد سعيد" in page and "التعديل" in page
            row = client.get("/?format=json&source=beta").json()["stories"][0]
            assert row["updated_at"] and row["id"] == ids[tanks.url]
    finally:
        engine.dispose()


def test_a_correction_reaches_search_and_pages_sqlite(tmp_path):
    _check_a_correction_reaches_search_and_pages(f"sqlite:///{tmp_path / 'c.db'}")


def test_a_correction_reaches_search_and_pages_postgresql(pg_schema_url):
    _check_a_correction_reaches_search_and_pages(pg_schema_url)
