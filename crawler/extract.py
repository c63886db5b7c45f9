"""Page bytes -> Record: trafilatura for the story, then cleaning, dates, author, language.

A pure function (no I/O, no globals) so it runs in a process pool during crawls and is the
exact code `defnews extract` runs on one saved page.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Iterable

import trafilatura
from lxml import html as lxml_html

from crawler.items import FeedMeta, Record
from crawler.urls import choose_canonical

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:]+)""", re.I)


def decode_html(body: bytes, encoding: str | None = None) -> str:
    """Decode with the HTTP charset, else <meta charset>, else UTF-8, else windows-1256.

    windows-1256 is the usual legacy encoding of older Arabic sites; trying it last keeps
    UTF-8 pages intact while making undeclared legacy pages readable.
    """
    candidates: list[str] = []
    if encoding:
        candidates.append(encoding)
    m = _META_CHARSET.search(body[:4096])
    if m:
        candidates.append(m.group(1).decode("ascii", "ignore"))
    candidates += ["utf-8", "windows-1256"]
    for enc in candidates:
        try:
            return body.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", "replace")


def parse_tree(html_text: str):  # -> lxml HtmlElement | None
    try:
        return lxml_html.document_fromstring(html_text)
    except (ValueError, lxml_html.etree.ParserError):
        return None


def rel_canonical(tree) -> str | None:  # noqa: ANN001
    if tree is None:
        return None
    for href in tree.xpath('//link[@rel="canonical"]/@href'):
        if href.strip():
            return href.strip()
    return None


def extract_record(
    body: bytes,
    url: str,
    *,
    source: str = "",
    final_url: str | None = None,
    encoding: str | None = None,
    feed: FeedMeta | None = None,
    fetched_at: datetime | None = None,
    timezone_name: str = "UTC",
    boilerplate: Iterable[str] = (),
    learned: Iterable[str] = (),
) -> Record | None:
    """Extract one article page; None when the page holds no article text."""
    from crawler.clean import clean_text
    from crawler.dates import resolve_date
    from crawler.language import detect_language
    from crawler.meta import find_author

    fetched_at = fetched_at or datetime.now(timezone.utc)
    final_url = final_url or url
    html_text = decode_html(body, encoding)
    tree = parse_tree(html_text)
    if tree is None:
        return None
    doc = trafilatura.bare_extraction(
        tree,
        url=final_url,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        deduplicate=False,
    )
    if doc is None:
        return None
    meta = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    raw_text = meta.get("text") or ""
    title = (feed.title if feed and feed.title else "") or meta.get("title") or ""
    site_name = meta.get("sitename") or ""
    text = clean_text(
        raw_text,
        title=title,
        site_name=site_name,
        patterns=list(boilerplate),
        learned=set(learned),
    )
    if not text.strip():
        return None
    published, date_source = resolve_date(
        tree, text, feed_date=feed.published if feed else None,
        tz=timezone_name, fetched_at=fetched_at,
    )
    author = (feed.author if feed and feed.author else "") or find_author(tree, meta.get("author"))
    return Record(
        source=source,
        url=choose_canonical(final_url, rel_canonical(tree)),
        title=title.strip(),
        text=text,
        author=author,
        published_at=published,
        date_source=date_source,
        language=detect_language(text),
        fetched_at=fetched_at,
        guid=feed.guid if feed else "",
        site_name=site_name,
    )
