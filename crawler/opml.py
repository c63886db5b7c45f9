"""OPML: the sources as a subscription list for other readers, and sources from one.

Every feed reader (Miniflux, FreshRSS, Feedly, NetNewsWire) exchanges subscriptions as
OPML 2.0: one ``<outline type="rss" xmlUrl=... htmlUrl=...>`` per feed, nested in folder
outlines. ``sources_opml`` renders the configured sources that way (pure: the CLI and the
web reader's ``/sources.opml`` both call it); ``parse_opml`` + ``plan_import`` turn an OPML
file into new config.yaml sources, and ``write_sources`` adds them to config.yaml.

An OPML file comes from somewhere else and is read as hostile: defusedxml refuses any DTD
or entity declaration (billion laughs, external entities read from disk or the network),
the size, the number of feeds and the nesting depth are bounded. Every new source is validated
exactly like config.yaml (crawler.config) before anything is written.

Import writes config.yaml rather than printing a snippet to paste: the contract's command
"adds the feeds as sources", and a round-trip YAML editor (ruamel.yaml) keeps the file's
comments, key order, quoting and flow lists, so the user's annotated config survives. The
written text is re-read and compared with what was meant before it replaces the file
(atomically), and when the file cannot be written the entries are printed to paste.
"""

from __future__ import annotations

import io
import ipaddress
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

import yaml
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as safe_fromstring
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import SingleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from crawler import defaults
from crawler.config import Config, ConfigError, SourceConfig, parse_config
from crawler.urls import canonical_url, site_of

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(Exception):
    """An OPML file that cannot be imported; the message names the file and the outline."""


# -- export -------------------------------------------------------------------------------

def sources_opml(sources: Sequence[SourceConfig], *, title: str = "defnews sources",
                 created: datetime | None = None) -> str:
    """OPML 2.0 text with one ``type="rss"`` outline per feed of each source.

    Sources without feeds (sitemaps or listing pages only) have nothing another reader
    could subscribe to, so they are left out. ``created`` (aware) fills ``dateCreated``;
    it is a parameter, not the clock, so the same sources always give the same bytes.
    """
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    if created is not None:
        ET.SubElement(head, "dateCreated").text = format_datetime(created)
    body = ET.SubElement(root, "body")
    for source in sources:
        for feed in source.feeds:
            ET.SubElement(body, "outline", {
                "type": "rss", "text": _xml_text(source.name), "title": _xml_text(source.name),
                "xmlUrl": _xml_text(feed), "htmlUrl": _xml_text(source.url)})
    ET.indent(root, space="  ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def _xml_text(value: str) -> str:
    return _XML_INVALID.sub("", value)


# -- import: parse ------------------------------------------------------------------------

@dataclass(frozen=True)
class OpmlFeed:
    """One feed outline of an OPML file."""

    where: str  # "outline 2.3": its position under <body>, 1-based, for error messages
    title: str
    xml_url: str
    html_url: str


def parse_opml(data: bytes, origin: str) -> list[OpmlFeed]:
    """The feed outlines (those with an ``xmlUrl``) of an OPML document, in order, folders
    walked; raises OpmlError naming ``origin`` when the file is not usable OPML."""
    if len(data) > defaults.OPML_MAX_BYTES:
        raise OpmlError(f"{origin}: larger than {defaults.OPML_MAX_BYTES} bytes: not an OPML subscription list")
    try:
        root = safe_fromstring(data, forbid_dtd=True)  # OPML has no DTD: none is read
    except DefusedXmlException as exc:
        raise OpmlError(f"{origin}: refused: the file declares a DTD or entities, which OPML never needs ({exc})") from None
    except ParseError as exc:
        raise OpmlError(f"{origin}: not well-formed XML: {exc}") from None
    if _local(root.tag) != "opml":
        raise OpmlError(f"{origin}: not OPML: the root element is <{_local(root.tag)}>, not <opml>")
    body = next((el for el in root if _local(el.tag) == "body"), None)
    if body is None:
        raise OpmlError(f"{origin}: not OPML: no <body> element")
    feeds: list[OpmlFeed] = []
    # Depth-first without recursion: a hostile file may nest outlines very deep.
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        prefix, parent = stack.pop()
        if prefix.count(".") > defaults.OPML_MAX_DEPTH:
            raise OpmlError(f"{origin}: outline {prefix[:40]}...: folders nested deeper than "
                            f"{defaults.OPML_MAX_DEPTH} levels")
        children = [el for el in parent if _local(el.tag) == "outline"]
        for i, el in reversed(list(enumerate(children, 1))):
            stack.append((f"{prefix}{i}.", el))
        if parent is body:
            continue
        attrs = {k.lower(): (v or "").strip() for k, v in parent.attrib.items()}
        if attrs.get("xmlurl"):
            feeds.append(OpmlFeed(where=f"outline {prefix.rstrip('.')}",
                                  title=attrs.get("title") or attrs.get("text") or "",
                                  xml_url=attrs["xmlurl"], html_url=attrs.get("htmlurl", "")))
            if len(feeds) > defaults.OPML_MAX_FEEDS:
                raise OpmlError(f"{origin}: more than {defaults.OPML_MAX_FEEDS} feeds: import it in parts")
    return feeds


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# -- import: plan -------------------------------------------------------------------------

@dataclass
class NewSource:
    """A source to add to config.yaml, and what the OPML file called it."""

    entry: dict[str, Any]  # the config.yaml mapping: name, url, feeds
    title: str
    where: str


@dataclass
class ImportPlan:
    added: list[NewSource] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line per feed not added, and why


def plan_import(feeds: Iterable[OpmlFeed], cfg: Config, origin: str) -> ImportPlan:
    """New sources for the feeds not configured yet, each validated like config.yaml.

    A feed already configured (same canonical feed URL) or repeated in the file is skipped
    and said so. Any invalid outline makes the whole import fail (nothing is half-added),
    with one line per bad outline naming the file, the outline and the key.
    """
    plan = ImportPlan()
    known = {canonical_url(u): s.name for s in cfg.sources for u in s.feeds}
    taken = {s.name for s in cfg.sources}
    errors: list[str] = []
    for feed in feeds:
        label = f"{origin}: {feed.where}" + (f" ({_one_line(feed.title)!r})" if feed.title else "")
        html_url = feed.html_url or _home_of(feed.xml_url)
        entry = {"name": "", "url": html_url, "feeds": [feed.xml_url]}
        try:
            key = canonical_url(feed.xml_url)
        except ValueError:
            key = feed.xml_url
        if key in known:
            plan.skipped.append(f"{label}: {feed.xml_url} is already configured as source {known[key]!r}")
            continue
        entry["name"] = source_name(feed.title, feed.xml_url, html_url, taken)
        try:
            SourceConfig.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors():
                key_name = ".".join(str(p) for p in err["loc"]) or "(outline)"
                key_name = {"url": "htmlUrl", "feeds.0": "xmlUrl", "feeds": "xmlUrl"}.get(key_name, key_name)
                errors.append(f"{label}: {key_name}: {err['msg'].removeprefix('Value error, ')}")
            continue
        known[key] = entry["name"]
        taken.add(entry["name"])
        plan.added.append(NewSource(entry, _one_line(feed.title), feed.where))
    if errors:
        raise OpmlError("\n".join(errors))
    return plan


def _home_of(url: str) -> str:
    """The site's home page, for a feed outline without htmlUrl."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else url


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:defaults.SOURCE_NAME_MAX].strip("-")


def source_name(title: str, xml_url: str, html_url: str, taken: set[str]) -> str:
    """A config name (``[a-z0-9-]+``) not in ``taken``: the site's name ("aawsat" for
    m.aawsat.com), then the site and the title ("aljazeera-sport"), then a number.

    The host comes first because it is ASCII and stable; most Arabic feeds' titles have
    no Latin letters to make a name from.
    """
    host = (urlsplit(html_url).hostname or urlsplit(xml_url).hostname or "").lower()
    try:
        ipaddress.ip_address(host)
        base = _slug(host)
    except ValueError:
        site = site_of(f"http://{host}/") if host else ""
        base = _slug(site.split(".")[0]) if site else ""
    words = _slug(title)
    candidates = [c for c in (base, f"{base}-{words}" if base and words and words != base else "",
                              words) if c]
    for c in candidates:
        c = c[:defaults.SOURCE_NAME_MAX].strip("-")
        if c and c not in taken:
            return c
    stem = (candidates[0] if candidates else "feed")[:defaults.SOURCE_NAME_MAX - 4].strip("-")
    n = 2
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def _scalar(url: str) -> Any:
    """A URL as YAML: plain when only URL-path characters, else single-quoted, since
    ``?``, ``&``, ``#``, ``,`` or ``]`` mean something else in a flow list to some parsers."""
    return url if re.fullmatch(r"[A-Za-z0-9:/._~%+-]+", url) else SingleQuotedScalarString(url)


def _guess_indent(text: str) -> dict[str, int]:
    """The file's own indentation (ruamel.yaml writes one style for the whole file), so
    appending sources does not re-indent the rest: nested keys, list dashes, list items."""
    style = {"mapping": 2, "sequence": 4, "offset": 2}
    m = re.search(r"^[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*( +)[^\s#-]", text, re.M)
    if m:
        style["mapping"] = len(m.group(1))
    try:
        _, sequence, offset = load_yaml_guess_indent(text)
    except Exception:  # the file was validated already; a guess is only cosmetic
        sequence = offset = None
    if sequence is not None:
        style["sequence"], style["offset"] = sequence, offset or 0
    return style


def _one_line(text: str) -> str:
    """A title safe to put in a YAML comment or a message: one line, no control characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:120]


# -- import: write ------------------------------------------------------------------------

def sources_yaml(new: Sequence[NewSource], origin: str) -> str:
    """The new sources as config.yaml list items, for a user to paste under ``sources:``."""
    text, _ = _render(None, new, origin)
    return text


def write_sources(config_path: Path, new: Sequence[NewSource], origin: str) -> None:
    """Add ``new`` to the ``sources`` of config.yaml, keeping everything else as written.

    The new text is checked before it replaces the file: it must parse to the old
    document plus exactly the new sources and be a valid config. The replacement is
    atomic (a temporary file renamed over the old one), so a crash leaves either file.
    Raises OSError when the file cannot be written, OpmlError if the check fails.
    """
    old_text = config_path.read_text(encoding="utf-8")
    new_text, expected = _render(old_text, new, origin)
    try:
        reread = yaml.safe_load(new_text)
    except yaml.YAMLError:
        reread = None
    if reread != expected:
        raise OpmlError(f"{config_path}: the edited config would not read back as written; "
                        "nothing was changed (paste the sources below instead)")
    try:
        parse_config(reread, str(config_path))
    except ConfigError as exc:
        raise OpmlError(f"the imported sources would make the config invalid:\n{exc}") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{config_path.name}.", dir=config_path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(new_text)
        os.chmod(tmp, config_path.stat().st_mode & 0o7777)
        os.replace(tmp, config_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _render(old_text: str | None, new: Sequence[NewSource], origin: str) -> tuple[str, Any]:
    """(YAML text, the plain data it must parse to). With ``old_text`` None, only the new
    list items; otherwise the whole file with them appended to ``sources``."""
    rt = YAML()  # round-trip: comments, order, quotes and flow style survive
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a user's long line
    # ruamel writes None as nothing ("redis_url:"); keep the file's explicit null.
    rt.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    rt.indent(mapping=2, sequence=4, offset=2)  # the shipped config's style
    items = CommentedSeq()
    for src in new:
        m = CommentedMap()
        m["name"] = src.entry["name"]
        m["url"] = _scalar(src.entry["url"])
        feeds = CommentedSeq([_scalar(u) for u in src.entry["feeds"]])
        feeds.fa.set_flow_style()
        m["feeds"] = feeds
        note = f"from {Path(origin).name} {src.where}" + (f": {src.title}" if src.title else "")
        m.yaml_add_eol_comment(_one_line(note), "name")
        items.append(m)
    if old_text is None:
        out = io.StringIO()
        rt.dump(items, out)
        return out.getvalue(), [s.entry for s in new]
    expected = yaml.safe_load(old_text) or {}
    expected["sources"] = list(expected.get("sources") or []) + [s.entry for s in new]
    rt.indent(**_guess_indent(old_text))
    data = rt.load(old_text)
    if data is None:  # an empty file is a valid config
        data = CommentedMap()
    if data.get("sources") is None:
        data["sources"] = CommentedSeq()
    data["sources"].extend(items)
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue(), expected
