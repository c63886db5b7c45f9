"""Page bytes -> Record: trafilatura for the story, then cleaning, dates, author, language.

A pure function (no I/O, no globals) so it runs in a process pool during crawls and is the
exact code `defnews extract` runs on one saved page.
"""

from __future__ import annotations

import copy
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
    """Parse without HTML comments: trafilatura given a tree that still holds comment
    nodes loses whole paragraphs (measured on the Zyte benchmark: 1751 vs 3402 chars)."""
    parser = lxml_html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
    try:
        return lxml_html.document_fromstring(html_text, parser=parser)
    except (ValueError, lxml_html.etree.ParserError):
        return None


def rel_canonical(tree) -> str | None:  # noqa: ANN001
    if tree is None:
        return None
    for href in tree.xpath('//link[@rel="canonical"]/@href'):
        if href.strip():
            return href.strip()
    return None


# <figcaption>, and the caption blocks of CMS themes ("wp-caption-text", "image-caption",
# "photo-caption"): leaf-ish blocks only, so a container named "...caption..." holding
# paragraphs is never dropped.
_CAPTIONS = ("//figcaption | //*[contains(@class, 'caption')][not(.//p) and not(.//div)"
             " and string-length(normalize-space(.)) < 400]")


def is_layout_table(table) -> bool:  # noqa: ANN001
    """A table used to lay the page out (old Arabic sites), not to hold data: it nests
    another table or its cells hold paragraphs and blocks."""
    return bool(table.xpath(".//table")) or bool(
        table.xpath("./tr/td/*[self::p or self::div or self::ul or self::ol or self::blockquote"
                    " or self::h1 or self::h2 or self::h3 or self::h4]"
                    " | ./tbody/tr/td/*[self::p or self::div or self::ul or self::ol or self::blockquote"
                    " or self::h1 or self::h2 or self::h3 or self::h4]"))


def _link_share(el) -> float:  # noqa: ANN001
    text = " ".join(el.text_content().split())
    links = sum(len(" ".join(a.text_content().split())) for a in el.iter("a"))
    return links / max(1, len(text))


def drop_related_boxes(tree) -> None:  # noqa: ANN001
    """Remove "اقرأ أيضا" / "مواضيع ذات صلة" boxes: a related-heading followed by links.

    Done on the tree, where links are visible: in plain text a list of linked titles and
    a story's sub-heading look alike. A heading alone, or an inline "اقرأ أيضا: <a>"
    paragraph, is left to crawler.text.clean.
    """
    from crawler.text.arabic import normalize
    from crawler.text.clean import is_read_also

    doomed = []
    for el in tree.iter("div", "section", "aside", "ul", "ol", "p", "h2", "h3", "h4", "h5", "h6", "strong", "span"):
        first = next((t.strip() for t in el.itertext() if t.strip()), "")  # cheap test first
        if not first or not is_read_also(normalize(first[:60]), first[:60]):
            continue
        text = " ".join(" ".join(el.itertext()).split())  # spaced: "صلة" + "<a>" must not glue
        if len(text) > 1500:
            continue
        if el.tag in ("div", "section", "aside", "ul", "ol") and _link_share(el) >= 0.5:
            doomed.append(el)  # the whole box: heading and links
            continue
        if len(normalize(text).split()) <= 4:  # a heading: the links are its next sibling
            box = el
            while box.getnext() is None and box.getparent() is not None and box.getparent().tag in ("strong", "span", "b", "p"):
                box = box.getparent()
            nxt = box.getnext()
            if nxt is not None and nxt.tag in ("ul", "ol", "div") and _link_share(nxt) >= 0.6:
                doomed += [box, nxt]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()


def prepare_tree(tree):  # noqa: ANN001, ANN201
    """A copy of the page made for trafilatura.

    Image captions go: a caption is not the story (CONTRACT.md), and on Arabic sites it
    usually repeats the headline. Layout tables become plain blocks: trafilatura renders a
    table as "| cell |" rows and would glue a whole story cell into one line.
    """
    tree = copy.deepcopy(tree)
    for el in tree.xpath(_CAPTIONS):
        if el.getparent() is not None:
            el.drop_tree()
    drop_related_boxes(tree)
    owned = []  # (table, its own rows and cells), all decided before anything is renamed
    for table in tree.iter("table"):
        if is_layout_table(table):
            own = [el for el in table.iter("tbody", "thead", "tfoot", "tr", "td", "th")
                   if next(el.iterancestors("table"), None) is table]
            owned.append((table, own))
    for table, own in owned:
        for el in [table, *own]:
            el.tag = "div"
            for attr in ("width", "colspan", "rowspan", "cellpadding", "cellspacing", "border"):
                el.attrib.pop(attr, None)
    return tree


def _block_text(el) -> str:  # noqa: ANN001
    return " ".join(el.text_content().split())


def _sibling_with_text(el, forward: bool):  # noqa: ANN001, ANN202
    sib = el.getnext() if forward else el.getprevious()
    while sib is not None and not _block_text(sib):
        sib = sib.getnext() if forward else sib.getprevious()
    return sib


def restore_subheadings(tree, text: str) -> str:  # noqa: ANN001
    """Put back the story's sub-headings that trafilatura dropped.

    On templates it does not recognise, trafilatura's fallback keeps the paragraphs and
    loses the <h2>-<h6> between them. A heading whose neighbours on both sides are two
    consecutive paragraphs of the extracted text belongs to the story: it is inserted there.
    """
    lines = text.split("\n")
    keys = [" ".join(x.split()) for x in lines]
    present = set(keys)
    for h in tree.xpath("//h2 | //h3 | //h4 | //h5 | //h6"):
        head = _block_text(h)
        if not (2 < len(head) <= 150) or head in present:
            continue
        prev, nxt = _sibling_with_text(h, False), _sibling_with_text(h, True)
        if prev is None or nxt is None:
            continue
        a, b = _block_text(prev), _block_text(nxt)
        for i in range(len(keys) - 1):
            if keys[i] == a and keys[i + 1] == b:
                lines.insert(i + 1, head)
                keys.insert(i + 1, head)
                present.add(head)
                break
    return "\n".join(lines)


_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:«»•·]{1,2}\s+")


def strip_site_name(title: str, site_name: str) -> str:
    """"Headline | Site" -> "Headline": the stored title is the headline alone."""
    title = " ".join(title.split())
    if not site_name:
        return title
    from crawler.text.arabic import normalize

    site = normalize(site_name)
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2 or not site:
        return title
    if normalize(parts[-1]) == site or site in normalize(parts[-1]).split(" ") and len(parts[-1].split()) <= 3:
        return title[: title.rfind(parts[-1])].rstrip(" |-–—:«»•·")
    if normalize(parts[0]) == site:
        return title[len(parts[0]):].lstrip(" |-–—:«»•·")
    return title


def choose_title(tree, feed_title: str, trafilatura_title: str, site_name: str) -> str:  # noqa: ANN001
    """Feed title > og:title / JSON-LD headline > the <h1> > trafilatura's, site name removed."""
    from crawler.text.meta import is_article, json_ld, meta_values

    if feed_title and feed_title.strip():
        return strip_site_name(feed_title, site_name)
    candidates: list[str] = list(meta_values(tree, ("og:title",)))
    for obj in sorted(json_ld(tree), key=lambda o: not is_article(o)):
        if isinstance(obj.get("headline"), str) and is_article(obj):
            candidates.append(obj["headline"])
    if tree is not None:
        h1s = [" ".join(h.text_content().split()) for h in tree.xpath("//h1")]
        h1s = [h for h in h1s if len(h) > 3]
        if len(h1s) == 1:
            candidates.append(h1s[0])
        candidates += title_tag_parts(tree, site_name)
    if trafilatura_title:
        candidates.append(trafilatura_title)
    from crawler.text.arabic import normalize

    for c in candidates:
        c = strip_site_name(c, site_name)
        if len(c) > 3 and normalize(c) != normalize(site_name):
            return c
    return ""


def title_tag_parts(tree, site_name: str) -> list[str]:  # noqa: ANN001
    """The part of <title> that is the headline: "Site - Headline" or "Headline | Site"."""
    from crawler.text.arabic import normalize

    el = tree.find(".//title")
    text = " ".join((el.text_content() if el is not None else "").split())
    if not text:
        return []
    parts = [p for p in _TITLE_SEPARATORS.split(text) if p.strip()]
    site = normalize(site_name)
    rest = [p for p in parts if normalize(p) != site]
    if len(parts) > 1 and len(rest) == len(parts) - 1 and rest:
        return [" - ".join(rest)] if len(rest) > 1 else rest
    if len(parts) == 2:
        # Site name unknown: the headline is the clearly longer part ("Site - A long headline").
        a, b = sorted(parts, key=lambda p: len(p.split()), reverse=True)
        if len(a.split()) >= 4 and len(a.split()) >= 2 * len(b.split()):
            return [a]
    return [text]


def site_name_of(tree, trafilatura_site: str) -> str:  # noqa: ANN001
    from crawler.text.meta import json_ld, meta_values

    for v in meta_values(tree, ("og:site_name", "application-name")):
        return v
    for obj in json_ld(tree):
        pub = obj.get("publisher")
        if isinstance(pub, dict) and isinstance(pub.get("name"), str):
            return pub["name"]
    return trafilatura_site or ""


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
    """Extract one article page; None when the page holds no article text.

    ``boilerplate`` are the source's regexes, ``learned`` its learned boilerplate lines
    (storage.learned.learned_lines). The relevance score is always set; whether a
    story is kept is the pipeline's decision (crawler.text.relevance.is_relevant / THRESHOLD).
    """
    from crawler.text.clean import clean_text
    from crawler.text.dates import resolve_date
    from crawler.text.language import detect_language
    from crawler.text.meta import find_author, page_lines
    from crawler.text.relevance import score

    fetched_at = fetched_at or datetime.now(timezone.utc)
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=timezone.utc)
    final_url = final_url or url
    html_text = decode_html(body, encoding)
    tree = parse_tree(html_text)
    if tree is None:
        return None
    prepared = prepare_tree(tree)
    doc = trafilatura.bare_extraction(
        copy.deepcopy(prepared),
        url=final_url,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        deduplicate=False,
        # Dates come from crawler/text/dates.py; htmldate's extensive text search would run
        # dateparser over every locale (seconds per page, and invented January 1sts).
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if doc is None:
        return None
    meta = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    raw_text = restore_subheadings(prepared, meta.get("text") or "")
    site_name = site_name_of(tree, meta.get("sitename") or "")
    title = choose_title(tree, feed.title if feed else "", meta.get("title") or "", site_name)
    text = clean_text(
        raw_text,
        title=title,
        site_name=site_name,
        patterns=list(boilerplate),
        learned=set(learned),
    )
    if not text.strip():
        return None
    lines = page_lines(tree)
    published, date_source = resolve_date(
        tree, text, feed_date=feed.published if feed else None,
        tz=timezone_name, fetched_at=fetched_at, title=title, lines=lines,
    )
    author = (feed.author if feed and feed.author else "") or find_author(
        tree, meta.get("author"), title=title, lines=lines, site_name=site_name)
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
        relevance=score(title, text),
        guid=feed.guid if feed else "",
        site_name=site_name,
    )
