"""One page, read once: the decoded HTML, one lxml tree, its meta tags, its JSON-LD and what
the feed said about it, in one frozen object every rule reads.

Before, each rule went back to the bytes or the tree for what it needed: JSON-LD was
parsed four times a page, the meta tags scanned four times, the bytes parsed twice by
lxml. As Fundus precomputes ``html, doc, meta, ld`` once per page, ``PageFacts`` holds
them; what only some pages need (the visible lines, the <h1>s) is computed the first time
a rule asks and kept (``cached_property`` writes into the instance, the fields stay
frozen). Pure: no I/O, nothing global.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Iterable, Iterator, Mapping

from lxml import etree

from crawler.items import FeedMeta
from crawler.text.arabic import normalize
from crawler.text.decoding import decode_html
from crawler.text.parsing import parse_html, parse_page

_TRAILING_COMMA = re.compile(r",\s*([}\]])")

# Compiled once: a string given to .xpath() is compiled on every call.
_META_ELEMENTS = etree.XPath("//meta[@content] | //*[@itemprop]")

_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "head", "title", "select", "option", "button"}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th", "tbody", "thead", "br", "hr",
    "blockquote", "figure", "figcaption", "dl", "dt", "dd", "form", "center", "address", "pre",
}


# Decoding (declared encoding kept by its invalid-sequence share, control characters
# stripped) and the bounded parse (depth flattened, node budget) are crawler/text/decoding.py
# and crawler/text/parsing.py; the names stay importable from here.
parse_tree = parse_html


def read_json_ld(tree) -> tuple[dict[str, Any], ...]:
    """Every JSON-LD object on the page, @graph and lists flattened; broken blocks skipped."""
    out: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            out.append(node)
            if "@graph" in node:
                walk(node["@graph"])

    if tree is None:
        return ()
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            walk(json.loads(raw))
        except ValueError:
            # Some CMSs emit trailing commas or raw newlines inside strings.
            try:
                walk(json.loads(_TRAILING_COMMA.sub(r"\1", raw.replace("\n", " "))))
            except ValueError:
                continue
    return tuple(out)


def read_meta(tree) -> dict[str, tuple[Any, ...]]:
    """<meta property|name|itemprop=key> and itemprop elements by lower-cased key, in
    document order. Elements, not values: an itemprop on a container (articleBody) would
    cost its whole text, so a value is read only for the keys a rule asks for."""
    found: dict[str, list[Any]] = {}
    if tree is None:
        return {}
    for el in _META_ELEMENTS(tree):
        for attr in ("property", "name", "itemprop"):
            key = (el.get(attr) or "").strip().lower()
            if key:
                found.setdefault(key, []).append(el)
    return {k: tuple(v) for k, v in found.items()}


def _meta_value(el) -> str:
    if el.tag == "meta":
        return (el.get("content") or "").strip()
    return (el.get("datetime") or el.get("content") or el.text_content()).strip()


def is_article(obj: dict[str, Any]) -> bool:
    """A JSON-LD object that describes the story (not the site, a breadcrumb, a person)."""
    kinds = obj.get("@type", "")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(k, str) and ("Article" in k or k in ("BlogPosting", "Report", "WebPage"))
               for k in kinds)


def page_lines(tree) -> list[str]:
    """The visible text of the page as lines, one per block element, in document order.

    Used to find what is printed near the headline (dateline, byline) without relying on any
    one site's classes.
    """
    if tree is None:
        return []
    body = tree.find("body")
    root = body if body is not None else tree
    lines: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        line = " ".join(" ".join(buf).split())
        if line:
            lines.append(line)
        buf.clear()

    skip_depth = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _SKIP_TAGS or not tag:
                skip_depth += 1
                continue
            if skip_depth:
                continue
            if tag in _BLOCK_TAGS:
                flush()
            if el.text:
                buf.append(el.text)
        else:
            if tag in _SKIP_TAGS or not tag:
                skip_depth -= 1
            elif not skip_depth and tag in _BLOCK_TAGS:
                flush()
            if not skip_depth and el.tail and el is not root:
                buf.append(el.tail)
    flush()
    return lines


@dataclass(frozen=True, eq=False)
class PageFacts:
    """What one page says, read once. ``tree`` is the page as defnews reads it (see
    crawler.text.extract.prepare_tree: captions, related-link boxes and layout tables are
    gone by the time the rules run); ``meta`` and ``json_ld`` are read before that."""

    tree: Any  # lxml HtmlElement, or None for a page lxml could not parse
    url: str = ""
    feed: FeedMeta | None = None
    html: str = ""
    meta: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    json_ld: tuple[dict[str, Any], ...] = ()
    crowded: bool = False  # the parse's node budget applied (crawler/text/parsing.py): fast extraction only

    @classmethod
    def read(cls, tree, *, url: str = "", feed: FeedMeta | None = None,
             html: str = "") -> "PageFacts":
        """The facts of an already parsed tree (meta tags and JSON-LD read now)."""
        return cls(tree=tree, url=url, feed=feed, html=html, meta=read_meta(tree),
                   json_ld=read_json_ld(tree))

    @classmethod
    def from_bytes(cls, body: bytes, url: str = "", *, encoding: str | None = None,
                   feed: FeedMeta | None = None) -> "PageFacts | None":
        """Decode and parse once; None when lxml finds no document in the bytes."""
        html = decode_html(body, encoding)
        tree, crowded = parse_page(html)
        if tree is None:
            return None
        return replace(cls.read(tree, url=url, feed=feed, html=html), crowded=crowded)

    def meta_values(self, keys: Iterable[str]) -> Iterator[str]:
        """Non-empty values of the meta tags / itemprops named ``keys``, in key order."""
        for k in keys:
            for el in self.meta.get(k.lower(), ()):
                value = _meta_value(el)
                if value:
                    yield value

    @cached_property
    def articles_first(self) -> tuple[dict[str, Any], ...]:
        """The JSON-LD objects, those describing the story first (stable order otherwise)."""
        return tuple(sorted(self.json_ld, key=lambda o: not is_article(o)))

    @cached_property
    def lines(self) -> list[str]:
        """page_lines of the tree, once per page (a list: rules slice and join it)."""
        return page_lines(self.tree)

    @cached_property
    def norm_lines(self) -> tuple[str, ...]:
        """``lines`` normalised (crawler.text.arabic.normalize), once per page."""
        return tuple(normalize(line) for line in self.lines)

    @cached_property
    def h1s(self) -> tuple[str, ...]:
        """The text of every <h1>, whitespace collapsed, empty ones left out."""
        if self.tree is None:
            return ()
        return tuple(t for t in (" ".join(h.text_content().split()) for h in self.tree.iter("h1")) if t)

    @cached_property
    def title_tag(self) -> str:
        if self.tree is None:
            return ""
        el = self.tree.find(".//title")
        return " ".join((el.text_content() if el is not None else "").split())

    @cached_property
    def canonical(self) -> str | None:
        """The rel=canonical link, if the page declares one."""
        if self.tree is None:
            return None
        for link in self.tree.iter("link"):  # //link[@rel="canonical"]/@href: only <link>s visited
            href = link.get("href") if link.get("rel") == "canonical" else None
            if href and href.strip():
                return href.strip()
        return None


def as_facts(page) -> PageFacts:
    """Rules take a PageFacts; given a bare tree (a test, a one-off call) they read it here."""
    return page if isinstance(page, PageFacts) else PageFacts.read(page)
