"""A page -> Record: trafilatura for the story, then cleaning, dates, author, language.

Pure functions (no I/O, no globals) so they run in a process pool during crawls and are
the exact code `defnews extract` runs on one saved page.

One parse, one pass: the bytes are decoded and parsed once into a PageFacts
(crawler.text.facts) that every rule reads; the tree is prepared for trafilatura in place
and handed to it as a tree (trafilatura copies it once itself), with one options object.
trafilatura runs without its readability/jusText comparison (``fast``) and without its
metadata pass: defnews' own title/date/author rules come first, and trafilatura's metadata
is computed only for a page where they all found nothing (measured on bench/quality.py:
the labelled set unchanged, Zyte F1 0.965 -> 0.967, about 40 % of trafilatura's CPU
saved).
"""

from __future__ import annotations

import copy
import re
from html import unescape
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import cached_property, lru_cache
from typing import Any, Callable, Iterable

from lxml import etree
from trafilatura import bare_extraction
from trafilatura.metadata import (META_URL, examine_meta, extract_author, extract_meta_json, extract_sitename,
                                  extract_title, extract_url)
from trafilatura.utils import line_processing
from trafilatura.settings import Extractor

from crawler import defaults
from crawler.items import FeedMeta, Page, Record, SourceRules
from crawler.text.arabic import normalize
from crawler.text.clean import Verdict, format_verdicts, is_ad_label, is_read_also, judge_lines, kept_lines
from crawler.text.dates import resolve_date
from crawler.text.facts import PageFacts, as_facts, decode_html, is_article, parse_tree
from crawler.text.language import detect_language
from crawler.text.meta import find_author
from crawler.text.relevance import score
from crawler.text.revisions import version_hash
from crawler.urls import choose_canonical

__all__ = ["CleaningTrace", "Extracted", "choose_title", "decode_html", "drop_related_boxes", "extract", "extract_page",
           "explain_cleaning", "extract_record", "extract_with_trace", "parse_tree", "prepare_tree",
           "recover_story_blocks", "rel_canonical", "restore_subheadings",
           "site_name_of", "strip_site_name"]

# Dates come from crawler/text/dates.py; htmldate's extensive text search would run
# dateparser over every locale (seconds per page, and invented January 1sts).
_DATE_PARAMS = {"extensive_search": False, "original_date": True}


@lru_cache(maxsize=1)
def trafilatura_options() -> Extractor:
    """The one options object every page is extracted with (built once per process).

    ``fast``: no readability/jusText comparison (trafilatura's own rules, its baseline
    rescue and its recall retry still run); measured on bench/quality.py it costs no
    quality here (Zyte F1 0.965 -> 0.967: three pages better, one worse, which
    looks_like_menu catches; the labelled set unchanged) and saves ~5 ms a page.
    No metadata pass: see TrafilaturaMeta.
    """
    return Extractor(output_format="python", fast=True, comments=False, tables=True, dedup=False,
                     with_metadata=False, date_params=dict(_DATE_PARAMS))


@lru_cache(maxsize=1)
def trafilatura_full_options() -> Extractor:
    """trafilatura_options with its readability/jusText comparison: for the page fast mode
    answered with a menu (see looks_like_menu).

    jusText reads its stop words from the languages of defaults.JUSTEXT_STOPLISTS. Given
    no target language, trafilatura would load all 100 of its lists (~30 MiB per worker,
    for its life, and ~0.3 s); a target language would make it identify every page's
    language with py3langid (a ~74 MiB model). trafilatura keeps the list in a module
    variable it fills on first use: filled here, once per process, first."""
    import trafilatura.external
    from justext import get_stoplist

    words = set().union(*(get_stoplist(lang) for lang in defaults.JUSTEXT_STOPLISTS))
    trafilatura.external.JT_STOPLIST = tuple(sorted(words))
    return Extractor(output_format="python", fast=False, comments=False, tables=True, dedup=False,
                     with_metadata=False, date_params=dict(_DATE_PARAMS))


def looks_like_menu(text: str) -> bool:
    """An extraction that is a page's navigation, not a story: many lines, nearly all of
    one to three words. Measured on the Zyte benchmark, fast mode returns that on one page
    of 181 (F1 0.13, where the comparison with readability gives 0.93); no story there
    has a fast-mode share of such lines above 0.25."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 20:
        return False
    short = sum(1 for line in lines if len(line.split()) <= 3)
    return short >= 0.8 * len(lines)


class TrafilaturaMeta:
    """trafilatura's metadata rules for title, author and site name, each run only when a
    rule asks for it: defnews' own rules (feed, og/JSON-LD, <h1>, byline) come first and
    usually answer, so most pages never pay for them.

    Each field is what ``trafilatura.metadata.extract_metadata`` gives for it (the same
    steps in the same order: meta tags, JSON-LD, then the field's own fallback, trimmed as
    ``Document.clean_and_trim`` trims), without the parts defnews never reads: htmldate's
    date search, categories, tags, licence, and the author search (a deep copy of the tree
    and an XPath pass) when only the site name is asked for."""

    def __init__(self, tree, url: str) -> None:
        self.tree, self.url = tree, url

    @cached_property
    def _head(self):
        """What extract_metadata reads first for every field: meta tags, then JSON-LD."""
        try:
            doc = examine_meta(self.tree)
            if doc.author and " " not in doc.author:
                doc.author = None
            try:
                doc = extract_meta_json(self.tree, doc)
            except Exception:  # noqa: BLE001 - as extract_metadata: keep the meta tags
                pass
            return doc
        except Exception:  # noqa: BLE001 - a fallback must never fail the page
            return None

    def _field(self, compute: Callable[[Any], str | None]) -> str:
        if self._head is None:
            return ""
        try:
            return _trimmed(compute(self._head))
        except Exception:  # noqa: BLE001 - a fallback must never fail the page
            return ""

    def title(self) -> str:
        return self._field(lambda head: head.title or extract_title(self.tree))

    def author(self) -> str:
        return self._field(lambda head: head.author or extract_author(self.tree))

    def sitename(self) -> str:
        def site(head) -> str | None:
            name = head.sitename or extract_sitename(self.tree)
            if name:
                name = name.lstrip("@")
                if name and "." not in name and not name[0].isupper():
                    name = name.title()
                return name
            url = head.url or extract_url(self.tree, self.url or None)
            found = META_URL.match(url) if url else None
            return found[1] if found else None
        return self._field(site)


def _trimmed(value: str | None) -> str:
    """A metadata field as trafilatura's Document.clean_and_trim leaves it ("" for none)."""
    if not isinstance(value, str):
        return ""
    if len(value) > 10000:
        value = value[:9999] + "…"
    return line_processing(unescape(value)) or ""


def rel_canonical(tree) -> str | None:
    return as_facts(tree).canonical


# <figcaption>, and the caption blocks of CMS themes ("wp-caption-text", "image-caption",
# "photo-caption"): leaf-ish blocks only, so a container named "...caption..." holding
# paragraphs is never dropped.
_CAPTIONS = ("//figcaption | //*[contains(@class, 'caption')][not(.//p) and not(.//div)"
             " and string-length(normalize-space(.)) < 400]")
_CAPTIONS_XPATH = etree.XPath(_CAPTIONS)


_BLOCK_IN_CELL = " or ".join(f"self::{t}" for t in ("p", "div", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4"))
LONG_CELL = 300  # characters: a cell this long holds prose (a story), not a datum
# The tree's XPath expressions, compiled once (a string given to .xpath() is compiled per call).
_NESTED_TABLE = etree.XPath(".//table")
_BLOCK_CELL = etree.XPath(f"./tr/td/*[{_BLOCK_IN_CELL}] | ./tbody/tr/td/*[{_BLOCK_IN_CELL}]")
_ROWS = etree.XPath("./tr | ./tbody/tr | ./thead/tr")
_CELLS = etree.XPath("./td | ./th")
_CELL_BREAK = etree.XPath(".//td//br | .//th//br")
_BREAK = etree.XPath(".//br")
_FORM_OR_H1 = etree.XPath(".//form | .//h1")
_H1 = etree.XPath(".//h1")
_AD_TAG = etree.XPath(".//ins | .//amp-ad | self::ins | self::amp-ad")


def is_layout_table(table) -> bool:
    """A table used to lay the page out (old Arabic sites), not to hold data.

    It nests another table, or its cells hold paragraphs and blocks, or one cell holds
    prose (paragraphs split by <br> inside <font>), or it is not a grid at all: one row of
    cells (a bar: date | menu) or one cell per row (a column of blocks). A data table has
    rows and columns of short cells; a lone framed paragraph (a pull quote) is left alone.
    """
    if _NESTED_TABLE(table) or _BLOCK_CELL(table):
        return True
    rows = _ROWS(table)
    cells = [_CELLS(r) for r in rows]
    if not rows or (len(rows) == 1 and len(cells[0]) <= 1):
        return bool(_CELL_BREAK(table))  # lines split by <br>: a block; else a pull quote
    if len(rows) == 1 or all(len(c) <= 1 for c in cells):
        return True
    return any(len(" ".join(td.text_content().split())) > LONG_CELL and _BREAK(td)
               for row in cells for td in row)


def _link_share(el) -> float:
    text = " ".join(el.text_content().split())
    links = sum(len(" ".join(a.text_content().split())) for a in el.iter("a"))
    return links / max(1, len(text))


@lru_cache(maxsize=4096)
def _opens_related_box(first: str) -> bool:
    """Whether a block's first text is a related-links heading. Remembered: nested blocks
    share their first text (div > div > p), and a site repeats its menus on every page."""
    return is_read_also(normalize(first), first)


def _first_text(el) -> str:
    """The first non-blank text inside ``el`` (its own text first), stripped; "" if none."""
    for text in el.itertext():  # starts with el.text
        if text and not text.isspace():
            return text.strip()
    return ""


def drop_related_boxes(tree) -> None:
    """Remove "اقرأ أيضا" / "مواضيع ذات صلة" boxes: a related-heading followed by links.

    Done on the tree, where links are visible: in plain text a list of linked titles and
    a story's sub-heading look alike. A heading alone, or an inline "اقرأ أيضا: <a>"
    paragraph, is left to crawler.text.clean.
    """
    doomed = []
    for el in tree.iter("div", "section", "aside", "ul", "ol", "p", "h2", "h3", "h4", "h5", "h6", "strong", "span"):
        first = _first_text(el)[:60]  # cheap test first
        if not first or not _opens_related_box(first):
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


def prepare_tree(tree):
    """A copy of the page made for trafilatura (the original is left as it was)."""
    return prepare_in_place(copy.deepcopy(tree))


def prepare_in_place(tree):
    """The page made for trafilatura and the rules, in place (the crawl's path: no copy)."""
    prepare_counting_tables(tree)
    return tree


def prepare_counting_tables(tree) -> int:
    """prepare_in_place, answering how many layout tables became plain blocks.

    Image captions go: a caption is not the story (CONTRACT.md), and on Arabic sites it
    usually repeats the headline. Related-link boxes go (drop_related_boxes). Layout tables
    become plain blocks: trafilatura renders a table as "| cell |" rows and would glue a
    whole story cell into one line.
    """
    for el in _CAPTIONS_XPATH(tree):
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
    return len(owned)


_VISIBLE = etree.XPath(".//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)"
                       " and not(ancestor::template)]")


def _block_text(el) -> str:
    return " ".join(el.text_content().split())


def _visible_text(el) -> str:
    """What a reader sees of a block: its text without the code of <script>/<style>
    (slower than _block_text: only where code would pass for prose)."""
    return " ".join("".join(_VISIBLE(el)).split())


_LEAF_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "dd", "div")
_SKIPPABLE_WORDS = 4  # an ad label, an empty image block or a lone credit between two parts of a story


def _leaves(el) -> list[str]:
    """Texts of the innermost blocks under ``el`` (``el`` itself if it has none), in order."""
    out = []
    for x in el.iter(*_LEAF_TAGS):
        if x is not el and any(True for _ in x.iterchildren(*_LEAF_TAGS)):
            continue
        if x is el and any(True for _ in el.iter(*_LEAF_TAGS) if _ is not el):
            continue
        t = _visible_text(x)
        if t:
            out.append(t)
    whole = _visible_text(el)
    return out or ([whole] if whole else [])


def _neighbour_text(el, forward: bool, keys: list[str], levels: int = 1) -> str | None:
    """The text block next to ``el`` in reading order: its sibling, else (up to ``levels``
    parents up) the parent's sibling, skipping ad breaks and empty blocks ("- إعلان -").
    A container's edge paragraph is found among ``keys`` (the extracted lines) by how the
    container's text begins or ends, without walking it. A heading of a box (inside
    <header>, <aside>, <nav>) has no story neighbours."""
    node = el
    for _ in range(levels + 1):
        sib = node.getnext() if forward else node.getprevious()
        while sib is not None:
            text = _block_text(sib)
            if text and not is_ad_break(sib, text):
                edge = [k for k in keys if k and (text.startswith(k) if forward else text.endswith(k))]
                return max(edge, key=len) if edge else text
            sib = sib.getnext() if forward else sib.getprevious()
        node = node.getparent()
        if node is None or node.tag in ("body", "html", "header", "aside", "nav", "footer", "figure"):
            return None
    return None


def restore_subheadings(tree, text: str) -> str:
    """Put back the story's sub-headings that trafilatura dropped.

    On templates it does not recognise, trafilatura's fallback keeps the paragraphs and
    loses the <h2>-<h6> between them. A heading whose neighbours on both sides are two
    consecutive paragraphs of the extracted text belongs to the story: it is inserted there.
    The neighbours are found across an ad break: a heading opening the block after it has
    no sibling before it, its neighbour is the last paragraph before the break.
    """
    lines = text.split("\n")
    keys = [" ".join(x.split()) for x in lines]
    present = set(keys)
    for h in tree.iter("h2", "h3", "h4", "h5", "h6"):  # //h2 | ... | //h6: only headings visited
        head = _block_text(h)
        if not (2 < len(head) <= 150) or head in present:
            continue
        a, b = _neighbour_text(h, False, keys), _neighbour_text(h, True, keys)
        if a is None or b is None:
            continue
        for i in range(len(keys) - 1):
            if keys[i] == a and keys[i + 1] == b:
                lines.insert(i + 1, head)
                keys.insert(i + 1, head)
                present.add(head)
                break
    return "\n".join(lines)


_SENTENCE_END = re.compile(r"[.!?؟…»\"”)]\s*$")


def _is_prose(text: str) -> bool:
    """A paragraph of running text: a dozen words or more ending a sentence, or a long one."""
    n = len(text.split())
    return n >= 25 or (n >= 12 and bool(_SENTENCE_END.search(text)))


def _prose_blocks(el) -> list[str] | None:
    """The paragraphs of ``el`` if it is story text (paragraphs and sub-headings, few links),
    else None. Forms, menus and link lists are never story text."""
    if el.tag in ("form", "nav", "aside", "header", "footer", "ul", "ol", "table") or _FORM_OR_H1(el):
        return None
    if _link_share(el) > 0.1:
        return None
    leaves = _leaves(el)
    kinds = [_is_prose(t) for t in leaves]
    if not any(kinds):
        return None
    heads = {_block_text(h) for h in el.iter("h2", "h3", "h4", "h5", "h6", "b", "strong")}
    if all(k or t in heads for k, t in zip(kinds, leaves)):
        return leaves
    return None


def _find_block(tree, keys: list[str]):
    """The innermost block holding the first of ``keys`` (lines of trafilatura's text)
    found on the page, in one walk; None when none is a block of its own."""
    wanted = {k: i for i, k in enumerate(keys)}
    best, best_i = None, len(keys)
    for el in tree.iter("p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "div", "td", "dd"):
        if el.tag in ("div", "td", "dd") and any(True for _ in el.iterchildren(*_LEAF_TAGS)):
            continue
        i = wanted.get(_block_text(el), len(keys))
        if i < best_i:
            best, best_i = el, i
            if i == 0:
                break
    return best


_AD_CLASS = re.compile(r"(?:^|[-_\s])(?:ad|ads|adv|advert|advertisement|adsense|dfp|gpt|banner|sponsor)(?:[-_\s\d]|$)", re.I)


def is_ad_break(el, text: str | None = None) -> bool:
    """An ad slot between two parts of a story: an ad label ("- إعلان -", "Advertisement"),
    an ad container by its class or id, or an ad tag (<ins class=adsbygoogle>, <amp-ad>).
    Never a block with more text than a label: a story block may carry any class."""
    text = _block_text(el) if text is None else text
    if len(text) > 60:
        return False
    label = normalize(text)
    if label and is_ad_label(label):
        return True
    if _AD_CLASS.search(f"{el.get('class') or ''} {el.get('id') or ''}"):
        return True
    return bool(_AD_TAG(el))


def _cms_split(sib, node) -> bool:
    """An intro block beside a full-text block: the CMS (Joomla, K2) cut one story in two."""
    return "intro" in (sib.get("class") or "").lower() and "full" in (node.get("class") or "").lower()


def _story_siblings(anchor, present: set[str], levels: int = 2) -> list[str]:
    """Story paragraphs before ``anchor`` that trafilatura left out or put at the end.

    Prose blocks of the same kind (a <div> beside a <div>, a <p> beside a <p>), going past
    ad labels and empty blocks, up to ``levels`` parents up; the first block that is
    neither ends the search (a caption, a byline, a comment form, a box of links). A block
    is taken when trafilatura kept it elsewhere in the text, when an ad break stands
    between it and the story, or when the CMS split the story into intro and full text:
    a summary or standfirst above a story is prose too, and is not the story (Zyte pages).
    """
    found: list[str] = []
    node = anchor
    for _ in range(levels + 1):
        sib = node.getprevious()
        crossed_ad = False
        while sib is not None:
            text = _block_text(sib)
            ad = is_ad_break(sib, text)
            if not text or len(text.split()) <= _SKIPPABLE_WORDS or ad:
                crossed_ad = crossed_ad or (ad and (bool(text) or len(sib) > 0))  # an empty <div class=sponsor> is no break
                sib = sib.getprevious()
                continue
            blocks = _prose_blocks(sib) if sib.tag == node.tag else None
            if blocks is None or not (crossed_ad or _cms_split(sib, node) or all(b in present for b in blocks)):
                return found
            found = blocks + found
            sib = sib.getprevious()
        node = node.getparent()
        if node is None or node.tag in ("body", "html") or _H1(node):
            return found
    return found


def recover_story_blocks(tree, text: str) -> tuple[str, list[str]]:
    """Put the story back in reading order and whole: (text, the lines put at the front).

    trafilatura picks one container by its class ("fulltext", "article-body"): a story
    split in two by an ad break, or a Joomla K2 intro kept in a sibling block, loses its
    opening paragraphs, and trafilatura's own fallback may append them at the end. Lines
    The prose blocks just before the first line (siblings, past ad labels) are put at the
    front, taken from the end if trafilatura appended them there. Only before: after the
    story come author notes, disclaimers and related stories that also read as prose
    (measured on the Zyte pages).
    """
    lines = [x for x in text.split("\n") if x.strip()]
    if not lines:
        return text, []
    keys = [" ".join(x.split()) for x in lines]
    present = set(keys)
    first = _find_block(tree, keys[:3])
    before = _story_siblings(first, present) if first is not None else []
    moved = {t for t in before if t in present}  # found at the wrong end: moved to the front
    return "\n".join(before + [k for k in keys if k not in moved]), before


_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:«»•·]{1,2}\s+")


def strip_site_name(title: str, site_name: str) -> str:
    """"Headline | Site" -> "Headline": the stored title is the headline alone."""
    title = " ".join(title.split())
    if not site_name:
        return title
    site = normalize(site_name)
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2 or not site:
        return title
    if normalize(parts[-1]) == site or site in normalize(parts[-1]).split(" ") and len(parts[-1].split()) <= 3:
        return title[: title.rfind(parts[-1])].rstrip(" |-–—:«»•·")
    if normalize(parts[0]) == site:
        return title[len(parts[0]):].lstrip(" |-–—:«»•·")
    return title


def choose_title(tree, feed_title: str, trafilatura_title: str | Callable[[], str],
                 site_name: str) -> str:
    """Feed title > og:title / JSON-LD headline > the <h1> > trafilatura's, site name removed.

    trafilatura's title may be given as a function: it is asked only when no other
    candidate is a title.
    """
    if feed_title and feed_title.strip():
        return strip_site_name(feed_title, site_name)
    page = as_facts(tree)
    candidates: list[str] = list(page.meta_values(("og:title",)))
    for obj in page.articles_first:
        if isinstance(obj.get("headline"), str) and is_article(obj):
            candidates.append(obj["headline"])
    if page.tree is not None:
        h1s = [h for h in page.h1s if len(h) > 3]
        if len(h1s) == 1:
            candidates.append(h1s[0])
        candidates += title_tag_parts(page, site_name)
    norm_site = normalize(site_name)
    for c in candidates:
        c = strip_site_name(c, site_name)
        if len(c) > 3 and normalize(c) != norm_site:
            return c
    if callable(trafilatura_title):
        trafilatura_title = trafilatura_title()
    if trafilatura_title:
        c = strip_site_name(trafilatura_title, site_name)
        if len(c) > 3 and normalize(c) != norm_site:
            return c
    return ""


def title_tag_parts(tree, site_name: str) -> list[str]:
    """The part of <title> that is the headline: "Site - Headline" or "Headline | Site"."""
    text = as_facts(tree).title_tag
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


def site_name_of(tree, trafilatura_site: str | Callable[[], str]) -> str:
    """og:site_name / application-name, else the JSON-LD publisher, else trafilatura's
    guess (may be given as a function: asked only then)."""
    page = as_facts(tree)
    for v in page.meta_values(("og:site_name", "application-name")):
        return v
    for obj in page.json_ld:
        pub = obj.get("publisher")
        if isinstance(pub, dict) and isinstance(pub.get("name"), str):
            return pub["name"]
    if callable(trafilatura_site):
        trafilatura_site = trafilatura_site()
    return trafilatura_site or ""


@dataclass(frozen=True)
class CleaningTrace:
    """What cleaning did to one page, for `defnews extract --explain`: the lines put back
    from the page (story blocks before an ad break), then every line of trafilatura's text
    with the rule that dropped it ("" when kept), and where the date came from."""

    recovered: tuple[str, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    date_source: str = "none"


def explain_cleaning(trace: CleaningTrace, width: int = 100) -> list[str]:
    """The printable cleaning section of --explain, one row per line of text."""
    rows = ["== cleaning: each line of the extracted text, kept or dropped and by which rule =="]
    rows += [f"{'add':<5}{'recovered':<17}{x[:width]}" for x in trace.recovered]
    rows += format_verdicts(list(trace.verdicts), width)
    kept = sum(1 for v in trace.verdicts if not v.rule)
    rows.append(f"-- {kept} kept, {len(trace.verdicts) - kept} dropped, {len(trace.recovered)} recovered;"
                f" date from: {trace.date_source}")
    return rows


@dataclass(frozen=True)
class Extracted:
    """A Record and the normalised forms computed on the way, for what comes after
    extraction in the worker (relevance, dedup keys, learned-boilerplate candidates)."""

    record: Record
    norm_title: str
    lines: tuple[tuple[str, str], ...]  # (paragraph as stored, its normalised form)

    @property
    def norm_text(self) -> str:
        """normalize(record.text), from the paragraphs already normalised by the cleaner."""
        return " ".join(n for _, n in self.lines)


def extract(page: Page, rules: SourceRules, trace: list[CleaningTrace] | None = None) -> Extracted | None:
    """Extract one article page with its source's rules; None when it holds no article text.

    The relevance score is always set; whether a story is kept is the worker's decision
    (crawler.text.page, with rules.relevance_filter). ``trace``, when given, receives what
    cleaning did (a CleaningTrace, for `defnews extract --explain`): the verdicts are the
    cleaning itself, so the trace costs nothing but keeping them.
    """
    fetched_at = page.fetched_at or datetime.now(timezone.utc)
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=timezone.utc)
    final_url = page.final_url or page.url
    facts = PageFacts.from_bytes(page.body, final_url, encoding=page.encoding, feed=page.feed)
    if facts is None:
        return None
    tree = facts.tree
    layout_tables = prepare_counting_tables(tree)
    # A page laid out in tables (old ASP/Arabic sites) has no story container once its
    # tables are blocks: fast mode falls back to the whole <body> (menus, related links,
    # the dateline; the issue-11 asp-table pages), where the readability/jusText
    # comparison finds the story. Those pages go straight to the full pass.
    # A page over the node budget (crawler/text/parsing.py) stays in fast mode: the
    # comparison's cost on what is left of such a page is quadratic.
    full = bool(layout_tables) and not facts.crowded
    options = trafilatura_full_options() if full else trafilatura_options()
    doc = bare_extraction(tree, url=final_url, options=options)
    if doc is not None and not full and not facts.crowded and looks_like_menu(doc.text or ""):
        # trafilatura copies the tree it is given: ours is still whole for a second pass.
        doc = bare_extraction(tree, url=final_url, options=trafilatura_full_options()) or doc
    if doc is None:
        return None
    raw_text, recovered = recover_story_blocks(tree, doc.text or "")
    raw_text = restore_subheadings(tree, raw_text)
    fallback = TrafilaturaMeta(tree, final_url)
    feed = page.feed
    site_name = site_name_of(facts, fallback.sitename)
    title = choose_title(facts, feed.title if feed else "", fallback.title, site_name)
    # The page's own headline, which a re-check (no feed entry) sees: what page_hash keeps.
    page_title = (choose_title(facts, "", fallback.title, site_name)
                  if feed is not None and feed.title.strip() else title)
    verdicts = judge_lines(raw_text, title=title, site_name=site_name,
                           patterns=rules.boilerplate, learned=rules.learned)
    cleaning = CleaningTrace(tuple(recovered), tuple(verdicts))
    lines = tuple(kept_lines(verdicts))
    if not lines:
        if trace is not None:
            trace.append(cleaning)
        return None
    text = "\n\n".join(line for line, _ in lines)
    published, date_source = resolve_date(
        facts, text, feed_date=feed.published if feed else None,
        tz=rules.timezone, fetched_at=fetched_at, title=title,
    )
    author = (feed.author if feed and feed.author else "") or find_author(
        facts, fallback.author, title=title, site_name=site_name)
    title = title.strip()
    norm_title = normalize(title)
    norm_text = " ".join(n for _, n in lines)
    record = Record(
        source=rules.name,
        url=choose_canonical(final_url, facts.canonical),
        title=title,
        text=text,
        author=author,
        published_at=published,
        date_source=date_source,
        language=detect_language(text),
        fetched_at=fetched_at,
        relevance=score(norm_title, norm_text, rules.lexicon, normalized=True),
        guid=feed.guid if feed else "",
        site_name=site_name,
        page_hash=version_hash(page_title.strip(), text, norm_text=norm_text),
    )
    if trace is not None:
        trace.append(replace(cleaning, date_source=date_source))
    return Extracted(record, norm_title, lines)


def extract_page(page: Page, rules: SourceRules, trace: list[CleaningTrace] | None = None) -> Record | None:
    """The Record of one fetched page (what `defnews extract` prints); ``trace`` as in extract."""
    out = extract(page, rules, trace)
    return out.record if out is not None else None


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
    """One saved page outside a crawl (tests, benchmarks): extract_page with ad-hoc rules."""
    return extract_with_trace(body, url, source=source, final_url=final_url, encoding=encoding, feed=feed,
                              fetched_at=fetched_at, timezone_name=timezone_name, boilerplate=boilerplate,
                              learned=learned)[0]


def extract_with_trace(
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
) -> tuple[Record | None, CleaningTrace]:
    """extract_record, and what cleaning did (CleaningTrace) for --explain."""
    page = Page(source, url, final_url or url, body, encoding, fetched_at or datetime.now(timezone.utc), feed)
    rules = SourceRules(name=source, timezone=timezone_name, boilerplate=tuple(boilerplate),
                        learned=frozenset(learned))
    trace: list[CleaningTrace] = []
    record = extract_page(page, rules, trace)
    return record, (trace[-1] if trace else CleaningTrace())
