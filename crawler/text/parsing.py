"""HTML text -> lxml tree, bounded: pure functions, no I/O.

libxml2 (lxml's parser, ``huge_tree`` off) stops building the tree at 256 levels of
nesting: a page with thousands of nested <div>s between two paragraphs is cut there, and
every paragraph after the block is lost. Turning ``huge_tree`` on would let a stranger's
page cost unbounded memory and time. Instead, when the parser reports that limit, the
tags nested deeper than ``MAX_DEPTH`` are removed (their text stays) and the page is parsed
again: the pathological block collapses to its text and the story on both sides of it
survives. Pages are already bounded in size (``crawl.max_page_bytes``), which bounds the
node count; ``MAX_ELEMENTS`` bounds the tag scan of the rare page that needs flattening.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

#: Deepest nesting kept. Real article pages nest 20-40 levels; libxml2's own limit is 256.
MAX_DEPTH = 180
#: Tags handled by the flattening pass; the rest of a page beyond it is kept as text.
MAX_ELEMENTS = 1_000_000

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
        if n >= MAX_ELEMENTS:
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


def _parse(html_text: str):  # noqa: ANN202
    parser = lxml_html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=False)
    tree = lxml_html.document_fromstring(html_text, parser=parser)
    too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" or "Excessive depth" in e.message for e in parser.error_log)
    return tree, too_deep


def parse_html(html_text: str):  # -> lxml HtmlElement | None
    """Parse without HTML comments, bounded in depth (see the module docstring).

    Comments go because trafilatura given a tree that still holds comment nodes loses
    whole paragraphs (measured on the Zyte benchmark: 1751 vs 3402 chars).
    """
    try:
        tree, too_deep = _parse(html_text)
        if too_deep:
            tree, _ = _parse(flatten_deep_markup(html_text))
        return tree
    except (ValueError, lxml_html.etree.ParserError):
        return None
