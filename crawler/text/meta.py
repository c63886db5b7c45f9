"""What a page says about its story outside the body: meta tags, JSON-LD, the byline.

Read explicitly from the markup rather than trusted from trafilatura, which finds no author
in "بواسطة هيئة التحرير" and guesses dates from any text on the page.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from crawler.text.arabic import normalize

_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "head", "title", "select", "option", "button"}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th", "tbody", "thead", "br", "hr",
    "blockquote", "figure", "figcaption", "dl", "dt", "dd", "form", "center", "address", "pre",
}

# Byline prefixes: "بقلم" (by the pen of), "بواسطة" (by), "كتب/كتبت" (wrote), "إعداد"
# (prepared by), "تحرير" (edited by), "حوار" (interview by); English for mixed sites.
BYLINE = re.compile(
    r"^\s*(?:(?:(?:نشر|نشرت|نشره|نشرها)\s+)?(?:بقلم|بواسطه|بواسطة|إعداد|اعداد|تحرير|حوار|by|written by|posted by)"
    r"(?:\s*[:：\-–—]\s*|\s+)"
    r"|(?:كتب|كتبت|كتبه|تقرير|متابعة|متابعه|المحرر|المحررة|محرر|الكاتب|الكاتبة|author)\s*[:：\-–—]\s*)"
    r"(?P<name>\S.*?)\s*$",
    re.I,
)
_AUTHOR_KEYS = ("author", "article:author", "dc.creator", "dcterms.creator", "byl", "parsely-author",
                "sailthru.author", "twitter:creator:name")
_NOT_A_NAME = re.compile(r"https?://|www\.|@|\d{3,}|[<>{}|]")


def json_ld(tree) -> list[dict[str, Any]]:  # noqa: ANN001
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
        return out
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            walk(json.loads(raw))
        except ValueError:
            # Some CMSs emit trailing commas or raw newlines inside strings.
            try:
                walk(json.loads(re.sub(r",\s*([}\]])", r"\1", raw.replace("\n", " "))))
            except ValueError:
                continue
    return out


def is_article(obj: dict[str, Any]) -> bool:
    kinds = obj.get("@type", "")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(k, str) and ("Article" in k or k in ("BlogPosting", "Report", "WebPage"))
               for k in kinds)


def meta_values(tree, keys: tuple[str, ...]) -> Iterator[str]:  # noqa: ANN001
    """Values of <meta property|name|itemprop=key> and itemprop elements, in key order."""
    if tree is None:
        return
    wanted = {k.lower() for k in keys}
    found: dict[str, list[str]] = {}
    for el in tree.xpath("//meta[@content] | //*[@itemprop]"):
        for attr in ("property", "name", "itemprop"):
            key = (el.get(attr) or "").strip().lower()
            if key in wanted:
                if el.tag == "meta":
                    value = el.get("content") or ""
                else:
                    value = el.get("datetime") or el.get("content") or el.text_content()
                if value.strip():
                    found.setdefault(key, []).append(value.strip())
    for k in keys:
        yield from found.get(k.lower(), [])


def page_lines(tree) -> list[str]:  # noqa: ANN001
    """The visible text of the page as lines, one per block element, in document order.

    Used to find what is printed near the headline (dateline, byline) without relying on any
    one site's classes.
    """
    if tree is None:
        return []
    from lxml import etree

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


def headline_index(lines: list[str], tree, title: str = "") -> int | None:  # noqa: ANN001
    """Index of the line holding the headline: the <h1> matching the title, else the title."""
    candidates: list[str] = []
    if tree is not None:
        for h in tree.xpath("//h1"):
            t = " ".join(h.text_content().split())
            if t:
                candidates.append(t)
    nt = normalize(title) if title else ""
    if nt:
        candidates.sort(key=lambda c: normalize(c) != nt)
        candidates.append(title)
    for cand in candidates:
        nc = normalize(cand)
        if not nc:
            continue
        for i, line in enumerate(lines):
            nl = normalize(line)
            if nl == nc or (nc in nl and len(nl) < len(nc) + 40):
                return i
    return None


_TRAILING_DATE = re.compile(r"\s+[-–—|،,]\s+(?=.*\d).*$")


def clean_author(value: str, site_name: str = "") -> str:
    """A person's (or desk's) name without its byline prefix; '' when it is not a name.

    The site itself is not an author: many CMSs put the publisher in the author field.
    """
    value = " ".join(str(value).split()).strip(" :-–—|،,")
    m = BYLINE.match(value)
    if m:
        value = m.group("name").strip(" :-–—|،,")
    value = _TRAILING_DATE.sub("", value).strip(" :-–—|،,")  # "أحمد علي - 5 سبتمبر 2023"
    if site_name and normalize(value) == normalize(site_name):
        return ""
    if not value or _NOT_A_NAME.search(value) or len(value) > 60 or len(value.split()) > 6:
        return ""
    return value


def _ld_author(obj: dict[str, Any], site_name: str = "") -> str:
    raw = obj.get("author") or obj.get("creator")
    items = raw if isinstance(raw, list) else [raw]
    names = []
    for item in items:
        if isinstance(item, dict):
            name = item.get("name") or ""
            if isinstance(name, list):
                name = name[0] if name else ""
        else:
            name = item or ""
        name = clean_author(str(name), site_name)
        if name and name not in names:
            names.append(name)
    return ", ".join(names)


def find_author(tree, trafilatura_author: str | None, *, title: str = "",  # noqa: ANN001
                lines: list[str] | None = None, site_name: str = "") -> str:
    """Author from JSON-LD, then author meta tags, then a byline near the headline.

    trafilatura's own guess comes last: it often returns the site name or nothing.
    """
    objects = json_ld(tree)
    for obj in sorted(objects, key=lambda o: not is_article(o)):
        if obj.get("author") or obj.get("creator"):
            name = _ld_author(obj, site_name)
            if name:
                return name
    for value in meta_values(tree, _AUTHOR_KEYS):
        name = clean_author(value, site_name)
        if name:
            return name
    if tree is not None:
        for el in tree.xpath('//a[@rel="author"] | //*[contains(@class, "author") or contains(@class, "byline")]'
                             '[not(ancestor::*[contains(@class, "comment")])]'):
            name = clean_author(el.text_content(), site_name)
            if name and len(name) > 1:
                return name
    lines = lines if lines is not None else page_lines(tree)
    idx = headline_index(lines, tree, title)
    window = lines[max(0, idx - 3): idx + 8] if idx is not None else lines[:0]
    for line in window:
        if len(line) > 80:
            continue
        m = BYLINE.match(line)
        if m:
            name = clean_author(line, site_name)
            if name:
                return name
    return clean_author(trafilatura_author or "", site_name)
