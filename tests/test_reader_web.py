"""The web reader over HTTP (Starlette's test client), on SQLite and on the real PostgreSQL:
every route, the filters, keyset paging, search with each Arabic spelling variant, the
400s, escaping, and read-only connections."""

from __future__ import annotations

import csv
import io
import re
import uuid
import xml.etree.ElementTree as ET

import feedparser
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from crawler.config import load_config
from crawler.web.app import create_app
from storage.export import COLUMNS
from storage.reader import open_reader
from tests.conftest import PG_URL, _need
from tests.web.readerdata import CONFIG, NOW, fill, records



def _config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    """(client, ids by URL, db url) for a database filled with tests/web/readerdata.py."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'reader.db'}"
        schema = None
    else:
        _need("PostgreSQL", "127.0.0.1", 5432)
        from tests.web.aggsite import pg_schema

        schema = pg_schema(PG_URL, f"t_{uuid.uuid4().hex[:12]}")
        url = schema.__enter__()
    try:
        ids = fill(url)
        engine, factory = open_reader(url)
        app = create_app(factory, _config(tmp_path_factory), now=lambda: NOW)
        with TestClient(app) as client:
            yield client, ids, url
        engine.dispose()
    finally:
        if schema is not None:
            schema.__exit__(None, None, None)


def _ids(resp) -> list[int]:
    return [s["id"] for s in resp.json()["stories"]]


def _originals() -> int:
    return len(records()) - 2  # two copies of the Israel story


# --- the river -------------------------------------------------------------------------

def test_river_is_rtl_newest_originals_with_copies(site):
    client, ids, _ = site
    r = client.get("/")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "Content-Security-Policy" in r.headers and "script-src 'self'" in r.headers["Content-Security-Policy"]
    israel, tanks = ids["https://alpha.example/israel"], ids["https://beta.example/tanks"]
    assert html.index(f'id="s{israel}"') < html.index(f'id="s{tanks}"')  # newest first
    copy = ids["https://beta.example/news/israel-copy"]
    assert f'id="s{copy}"' not in html  # a copy is not a river item...
    assert f'href="/story/{copy}"' in html  # ...it is behind its original's copies toggle
    assert "نُشر أيضًا في مصدرين آخرين" in html
    assert "منذ ٣ ساعات" in html  # published three hours before NOW
    assert 'datetime="2026-11-30T09:00:00+00:00"' in html
    assert "/static/reader.css" in html and "http" not in html.split("<body>")[0].replace(
        'content="width=device-width', "")  # no asset from elsewhere


def test_river_keyset_paging_visits_every_original_once(site):
    client, ids, _ = site
    seen: list[int] = []
    url = "/?format=json&limit=7"
    for _ in range(20):
        r = client.get(url)
        assert r.status_code == 200
        seen += _ids(r)
        nxt = r.json()["next"]
        if not nxt:
            break
        assert "before=" in nxt and "offset" not in nxt
        url = nxt
    assert len(seen) == len(set(seen)) == _originals()
    by_id = {s: u for u, s in ids.items()}
    assert by_id[seen[0]] == "https://alpha.example/israel"
    assert by_id[seen[-1]] == "https://bulk.example/44"
    # The HTML river links the same next page.
    html = client.get("/?limit=7").text
    assert 'rel="next"' in html and "before=" in html


def test_filters_source_lang_dates_duplicates(site):
    client, ids, _ = site
    assert _ids(client.get("/?format=json&source=beta")) == [ids["https://beta.example/tanks"]]
    both = _ids(client.get("/?format=json&source=beta&source=gamma"))
    assert set(both) == {ids["https://beta.example/tanks"], ids["https://gamma.example/en"]}
    with_copies = _ids(client.get("/?format=json&source=beta&duplicates=1"))
    assert set(with_copies) == {ids["https://beta.example/tanks"],
                                ids["https://beta.example/news/israel-copy"]}
    assert _ids(client.get("/?format=json&lang=en")) == [ids["https://gamma.example/en"]]
    day = client.get("/?format=json&since=2026-11-30&until=2026-11-30&limit=200")
    assert len(_ids(day)) == 4  # the four stories of 30 November
    hours = client.get("/?format=json&since=2026-11-30T05:30:00Z&until=2026-11-30T06:30:00%2B00:00")
    assert _ids(hours) == [ids["https://alpha.example/xss"]]
    # Offsets are honoured: tanks was published at 07:00 UTC, 10:00 in Riyadh.
    local = client.get("/?format=json&since=2026-11-30T09:30:00%2B03:00&until=2026-11-30T10:30:00%2B03:00")
    assert _ids(local) == [ids["https://beta.example/tanks"]]


# --- search ----------------------------------------------------------------------------

@pytest.mark.parametrize("query,url,marked", [
    ("إسرائيل", "https://alpha.example/israel", "إسرائيل"),
    ("اسرائيل", "https://alpha.example/israel", "إسرائيل"),  # bare alef
    ("أسرائيل", "https://alpha.example/israel", "إسرائيل"),  # another hamza form
    ("إسرائيـــل", "https://alpha.example/israel", "إسرائيل"),  # tatweel in the query
    ("إِسْرَائِيل", "https://alpha.example/israel", "إسرائيل"),  # diacritics in the query
    ("القوات المسلحة", "https://alpha.example/israel", "القُوّات"),  # diacritics in the text
    ("الجيش المصري", "https://beta.example/tanks", "الجيـــش"),  # tatweel in the text
    ("القوه المدرعه", "https://beta.example/tanks", "القوة"),  # ta marbuta / ha
    ("مصطفي", "https://beta.example/tanks", "مصطفى"),  # alef maqsura / ya
    ("FRIGATE", "https://gamma.example/en", "frigate"),
])
def test_search_folds_arabic_spellings_and_highlights(site, query, url, marked):
    client, ids, _ = site
    r = client.get("/", params={"q": query, "format": "json"})
    assert r.status_code == 200
    assert _ids(r)[0] == ids[url]
    html = client.get("/", params={"q": query}).text
    assert f'id="s{ids[url]}"' in html
    assert f"<mark>{marked}</mark>" in html


def test_search_filters_and_orders(site):
    client, ids, _ = site
    israel = ids["https://alpha.example/israel"]
    assert _ids(client.get("/", params={"q": "اسرائيل", "format": "json", "source": "beta"})) == []
    assert _ids(client.get("/", params={"q": "اسرائيل", "format": "json", "lang": "en"})) == []
    assert _ids(client.get("/", params={"q": "اسرائيل", "format": "json", "duplicates": "1"}))[:3] \
        and israel in _ids(client.get("/", params={"q": "اسرائيل", "format": "json"}))
    by_time = client.get("/", params={"q": "الجيش", "format": "json", "sort": "time", "limit": 100})
    times = [s["published_at"] for s in by_time.json()["stories"]]
    assert len(times) > 5 and times == sorted(times, reverse=True)
    # relevance pages by offset, to the end and no further
    seen, url = [], "/?q=%D8%A7%D9%84%D8%AC%D9%8A%D8%B4&format=json&limit=5"
    for _ in range(30):
        r = client.get(url)
        seen += _ids(r)
        if not r.json()["next"]:
            break
        url = r.json()["next"]
    assert len(seen) == len(set(seen)) == len(times)
    assert _ids(client.get("/", params={"q": "!!!", "format": "json"})) == []
    assert _ids(client.get("/", params={"q": "كلمةغيرموجودة", "format": "json"})) == []


def test_search_syntax_is_never_interpreted(site):
    client, _, _ = site
    for q in ['"', "a OR b", "NEAR(a b)", "title:x", "* ^", "a & !b | c", "\\'", "');--"]:
        r = client.get("/", params={"q": q, "format": "json"})
        assert r.status_code == 200, q


# --- files and feeds -------------------------------------------------------------------

def test_json_csv_and_atom_carry_the_export_columns(site):
    client, ids, _ = site
    j = client.get("/?format=json&limit=3").json()
    assert list(j["stories"][0]) == COLUMNS
    assert j["stories"][0]["published_at"] == "2026-11-30T09:00:00+00:00"
    r = client.get("/?format=csv&limit=3&source=alpha")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == COLUMNS and len(rows) == 3
    assert rows[1][COLUMNS.index("url")] == "https://alpha.example/israel"
    feed = client.get("/feed?source=beta")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed.content)
    assert [e.link for e in parsed.entries] == ["https://beta.example/tanks"]
    assert client.get("/?format=atom&source=beta").content == feed.content
    q = feedparser.parse(client.get("/feed", params={"q": "اسرائيل"}).content)
    assert [e.link for e in q.entries] == ["https://alpha.example/israel"]


# --- one story -------------------------------------------------------------------------

def test_story_page_text_copies_original_link_related(site):
    client, ids, _ = site
    israel = ids["https://alpha.example/israel"]
    r = client.get(f"/story/{israel}")
    assert r.status_code == 200
    html = r.text
    assert "صحراء النقب" in html and 'href="https://alpha.example/israel"' in html
    assert html.count("<p>") >= 3  # paragraphs kept
    copies = html.split('id="copies"')[1].split("</section>")[0]
    for u in ("https://beta.example/news/israel-copy", "https://gamma.example/israel-again"):
        assert f'href="/story/{ids[u]}"' in copies and f'href="{u}"' in copies
    copy = client.get(f"/story/{ids['https://beta.example/news/israel-copy']}").text
    assert f'href="/story/{israel}"' in copy and "نسخة من" in copy
    tanks = client.get(f"/story/{ids['https://beta.example/tanks']}?format=json").json()
    assert tanks["stories"][0]["id"] == ids["https://beta.example/tanks"]
    assert tanks["related"], "a bulk story shares the word دبابات with this headline"


def test_unknown_story_is_404(site):
    client, _, _ = site
    for path in ("/story/999999", "/story/0", "/story/abc", "/story/1e3", "/nowhere"):
        r = client.get(path)
        assert r.status_code == 404, path


# --- bad parameters --------------------------------------------------------------------

@pytest.mark.parametrize("query,name", [
    ("since=yesterday", "since"), ("until=2026-13-01", "until"), ("limit=0", "limit"),
    ("limit=100000", "limit"), ("limit=ten", "limit"), ("format=xml", "format"),
    ("sort=best", "sort"), ("before=xyz", "before"), ("source=Bad%20Name", "source"),
    ("lang=%3Cb%3E", "lang"), ("since=2026-11-30&until=2026-11-01", "since"),
    ("q=" + "x" * 201, "q"), ("offset=5000", "offset"), ("duplicates=yes", "duplicates"),
    ("limit=1&limit=2", "limit"),
])
def test_bad_parameters_are_400_with_a_message(site, query, name):
    client, _, _ = site
    r = client.get("/?" + query)
    assert r.status_code == 400
    assert name + ":" in r.text
    j = client.get("/?format=json&" + query) if "format" not in query else None
    if j is not None:
        assert j.status_code == 400 and j.json()["error"].startswith(name)
    assert client.get("/feed?" + query).status_code == 400


def test_no_write_endpoint(site):
    client, _, _ = site
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/").status_code == 405
        assert getattr(client, method)("/story/1").status_code == 405


def test_reader_connections_cannot_write(site):
    _, _, url = site
    engine, factory = open_reader(url)
    try:
        with factory() as session, pytest.raises(Exception) as err:
            session.execute(text("UPDATE stories SET title = 'x'"))
            session.commit()
        assert "read" in str(err.value).lower()
    finally:
        engine.dispose()


# --- safety ----------------------------------------------------------------------------

def test_page_strings_are_escaped_everywhere(site):
    client, ids, _ = site
    xss = ids["https://alpha.example/xss"]
    pages = [client.get("/").text, client.get(f"/story/{xss}").text,
             client.get("/", params={"q": "حقن"}).text, client.get("/", params={"q": "<script>"}).text,
             client.get("/", params={"q": "حقن", "source": "alpha"}).text]
    for html in pages:
        assert "<script>alert" not in html and "<b>عنوان" not in html
    assert "&lt;script&gt;alert(" in pages[1] and "&lt;b&gt;عنوان&lt;/b&gt;" in pages[1]
    assert "&lt;script&gt;" in pages[3]  # the query echoed back, escaped
    entry = feedparser.parse(client.get("/feed?source=alpha").content).entries
    assert any("<script>alert" in e.title for e in entry)  # as text, which feedparser unescapes


# --- sources ---------------------------------------------------------------------------

def test_sources_page_and_opml(site):
    client, _, _ = site
    html = client.get("/sources").text
    for name in ("alpha", "beta", "gamma", "bulk"):
        assert f'href="/?source={name}&amp;duplicates=1"' in html
    rows = client.get("/sources?format=json").json()["sources"]
    assert {r["name"]: r["stories"] for r in rows}["bulk"] == 45
    r = client.get("/sources.opml")
    root = ET.fromstring(r.content)
    outlines = root.findall("./body/outline")
    assert {o.get("xmlUrl") for o in outlines} == {"https://alpha.example/feed/",
                                                    "https://beta.example/rss?x=1&y=2"}


def test_links_carry_the_root_path_behind_a_proxy(site):
    """`serve --root-path /news` behind a proxy that strips the prefix: every link keeps it
    once (servers differ on whether the request path holds the prefix: both are checked)."""
    client, _, _ = site
    with TestClient(client.app, root_path="/news") as prefixed:
        for path in ("/?limit=2", "/news/?limit=2"):
            html = prefixed.get(path).text
            hrefs = [h for h in re.findall(r'href="([^"]+)"', html) if h.startswith("/")]
            assert hrefs and all(h.startswith("/news/") and not h.startswith("/news/news") for h in hrefs), hrefs
