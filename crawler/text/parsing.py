"""HTML text -> lxml tree, bounded: pure functions, no I/O.

libxml2 (lxml's parser, ``huge_tree`` off) stops building the tree at 256 levels of
nesting: a page with thousands of nested <div>s between two paragraphs is cut there, and
every paragraph after the block is lost. Turning ``huge_tree`` on would let a stranger's
page cost unbounded memory and time. Instead, when the parser reports that limit, the
tags nested deeper than ``MAX_DEPTH`` are removed (their text stays) and the page is parsed
again: the pathological block collapses to its text and the story on both sides of it
survives.

Size is bounded before this (``crawl.max_page_bytes``), but 5 MB of ``<span>x</span>`` is
330 000 elements, and trafilatura's cost grows faster than the element count (such a page
held an extraction worker for more than ten minutes). So the tree gets a node budget: a
page above ``MAX_ELEMENTS`` loses its inline formatting tags (their text stays), and any
element still holding more than ``MAX_CHILDREN`` children is collapsed to its text. Real
article pages have a few thousand elements and never meet either limit. A page that did
is extracted without trafilatura's readability comparison (``fast``), whose cost on what
is left of such a page is still quadratic (65 s for 55 000 stripped <span>s).
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree
from lxml import html as lxml_html

#: Deepest nesting kept. Real article pages nest 20-40 levels; libxml2's own limit is 256.
MAX_DEPTH = 180
#: Tags handled by the flattening pass; the rest of a page beyond it is kept as text.
MAX_TAGS_SCANNED = 1_000_000
#: Elements a parsed page may keep before the node budget applies (see the docstring).
MAX_ELEMENTS = 50_000
#: Children one element may keep once a page is over budget; more is a flood.
MAX_CHILDREN = 2_000
#: Longest run without whitespace kept in a page over budget: no word or URL is longer,
#: and what the stripped tags leave (330 000 "x" glued together) costs trafilatura minutes.
MAX_RUN = 1_000
_LONG_RUN = re.compile(r"\S{%d,}" % (MAX_RUN + 1))
#: Inline tags whose text can stand without them.
INLINE_TAGS = ("span", "font", "b", "i", "em", "strong", "u", "small", "big", "sup", "sub", "abbr",
               "s", "strike", "mark", "bdi", "bdo", "label", "time", "cite", "q", "tt")

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)\b[^>]*?(/?)>")
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())


def flatten_deep_markup(html_text: str, max_depth: int = MAX_DEPTH) -> str:
    """Drop the tags nested deeper than ``max_depth``, keep all text.

    Depth is counted over non-void tags: an opening tag deeper than the limit and the
    closing tags while the count is above it are removed. Unclosed tags (<p>, <li>) only
    make the count high, so this runs only on pages the parser could not take whole.
    """
    out: list[str] = []
    depth = 0
    last = 0
    for n, m in enumerate(_TAG.finditer(html_text)):
        if n >= MAX_TAGS_SCANNED:
            break
        closing, name, selfclose = m.group(1), m.group(2).lower(), m.group(3)
        if name in _VOID or selfclose:
            continue
        keep = True
        if closing:
            keep = depth <= max_depth
            depth = max(0, depth - 1)
        else:
            depth += 1
            keep = depth <= max_depth
        if not keep:
            out.append(html_text[last:m.start()])
            last = m.end()
    out.append(html_text[last:])
    return "".join(out)


# What tree.iter() yields (elements, comments, processing instructions), counted in C: no
# Python object per node (every page is counted; 0.27 -> 0.18 ms on the bench pages).
_COUNT_NODES = etree.XPath("count(descendant-or-self::*|descendant::comment()|descendant::processing-instruction())")


def _node_count(tree) -> int:
    return int(_COUNT_NODES(tree))


def bound_nodes(tree, max_elements: int = MAX_ELEMENTS, max_children: int = MAX_CHILDREN) -> bool:
    """Apply the node budget to a tree this module just parsed (in place); True if it had to.

    Inline tags go first (no text is lost); then elements with more than
    ``max_children`` children become one text node each.
    """
    if _node_count(tree) <= max_elements:
        return False
    etree.strip_tags(tree, *INLINE_TAGS)
    if _node_count(tree) > max_elements:
        for el in [e for e in tree.iter() if len(e) > max_children]:
            text = " ".join(t.strip() for t in el.itertext() if t.strip())
            for child in list(el):
                el.remove(child)
            el.text = text
    for el in tree.iter():
        for attr in ("text", "tail"):
            value = getattr(el, attr)
            if value and len(value) > MAX_RUN:
                setattr(el, attr, _LONG_RUN.sub(lambda m: m.group(0)[:MAX_RUN], value))
    return True


@lru_cache(maxsize=1)
def _class_lookup() -> etree.ElementDefaultClassLookup:
    """lxml.html's element classes (``text_content``, ``drop_tree``; what trafilatura
    checks its input for), chosen in C. lxml.html's own parser picks a class per element
    in Python (``HtmlElementClassLookup.lookup``, for the few tags with special classes:
    forms, inputs, labels, which nothing here uses) every time an element is touched from
    Python: 4000 calls a page, in defnews' rules and in trafilatura's passes over its copies
    of the tree alike (measured: ~2.4 ms of CPU a page, profiled)."""
    return etree.ElementDefaultClassLookup(element=lxml_html.HtmlElement, comment=lxml_html.HtmlComment,
                                           pi=lxml_html.HtmlProcessingInstruction, entity=lxml_html.HtmlEntity)


def _parse(html_text: str):
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=False)
    parser.set_element_class_lookup(_class_lookup())
    tree = etree.fromstring(html_text, parser=parser)
    if tree is None:  # what lxml.html.document_fromstring raises for it
        raise etree.ParserError("Document is empty")
    too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" or "Excessive depth" in e.message for e in parser.error_log)
    return tree, too_deep


def parse_page(html_text: str):  # -> (lxml HtmlElement | None, bool)
    """(tree, whether the node budget applied): parsed without HTML comments, bounded in
    depth and nodes (see the module docstring).

    Comments go because trafilatura given a tree that still holds comment nodes loses
    whole paragraphs (measured on the Zyte benchmark: 1751 vs 3402 chars).
    """
    try:
        tree, too_deep = _parse(html_text)
        if too_deep:
            tree, _ = _parse(flatten_deep_markup(html_text))
        return tree, bound_nodes(tree)
    except (ValueError, etree.ParserError):
        return None, False


def parse_html(html_text: str):  # -> lxml HtmlElement | None
    """The bounded tree of ``parse_page``."""
    return parse_page(html_text)[0]
