"""What defnews shows people: the crawl summary, the sources' health table, the Atom feed.

Presentation only: each function takes values that storage/ or the runner produced and
writes them out; nothing here reads the database or decides anything.

The Atom feed (`defnews feed`) is for feed readers that want one clean defense-news
stream: duplicates (the same story at another URL or from another source) are left out,
and each entry carries the cleaned story as XHTML paragraphs, so the reader needs no trip
to the site. Right-to-left: the feed says ``xml:lang="ar"``, and each story's content is
wrapped in a ``<div dir="rtl" lang="ar">`` (``dir="ltr"`` and its own language for a story
in a left-to-right language), so readers lay Arabic out right to left and keep
punctuation and Latin words in their places.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html import escape
from typing import IO, Sequence

from feedgen.feed import FeedGenerator
from rich.console import Console
from rich.table import Table

from crawler import PROJECT_URL, __version__
from crawler.frontier.status import SourceFrontier
from crawler.items import RunCounts
from storage.db import as_utc, utcnow
from storage.health import FIELDS
from storage.models import Story

# -- the crawl summary --------------------------------------------------------------------

#: Summary columns and the RunCounts field each shows.
COLUMNS = (("fetched", "pages"), ("new", "new"), ("duplicate", "duplicates"), ("existing", "exists"),
           ("rejected", "rejected"), ("failed", "failed"), ("skipped", "skipped"))


def print_summary(results: Sequence[RunCounts], out: IO[str]) -> None:
    """The per-source table printed at the end of a crawl, then each source's errors."""
    table = Table(title="defnews crawl summary", title_justify="left")
    table.add_column("source", justify="left")
    table.add_column("status", justify="left")
    for header, _ in COLUMNS:
        table.add_column(header, justify="right")
    for r in results:
        table.add_row(r.source, r.status, *(str(getattr(r, f)) for _, f in COLUMNS))
    if len(results) > 1:
        table.add_row("total", "", *(str(sum(getattr(r, f) for r in results)) for _, f in COLUMNS))
    console = Console(file=out, width=max(100, 0), highlight=False, soft_wrap=True)
    console.print(table)
    # Wall time per source (a line, not a column: summary parsers keep their columns):
    # what each source's worst case - timeouts, a settled host - cost this run.
    console.print("  time per source: " + ", ".join(f"{r.source} {r.seconds:.1f} s" for r in results),
                  markup=False)
    for r in results:
        if r.updated:  # corrections found by re-checks (storage/corrections.py)
            console.print(f"  {r.source}: {r.updated} stored stories updated: corrected at the source",
                          markup=False)
        for err in r.errors:
            console.print(f"  {err}", markup=False)
        for w in r.warnings:
            console.print(f"  {w}", markup=False)
        for label, kinds in (("skipped", r.skips), ("failed", r.failures)):
            if kinds:
                console.print(f"  {r.source}: {label}: {kinds_line(kinds)}", markup=False)


def kinds_line(kinds: dict[str, int]) -> str:
    """"bad link 3, off-site 2, redirect loop 1": most frequent first."""
    return ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))


# -- the sources' health --------------------------------------------------------------------

HEALTH_COLUMNS = FIELDS + ("backoff_until", "last_run_fetched", "last_run_workers", "last_run_cost")


def run_cost(row: dict) -> str | None:
    """What a source's last run cost, in one short cell: "4 req, 0.16 s CPU"."""
    requests, cpu = row.get("last_run_requests"), row.get("last_run_cpu_s")
    parts = ([f"{requests} req"] if requests is not None else []) + ([f"{cpu:.2f} s CPU"] if cpu is not None else [])
    return ", ".join(parts) or None


def print_health(rows: list[dict], out: IO[str]) -> None:
    """`defnews sources`: the rows of storage.health.source_health as a table."""
    table = Table(title="defnews sources", title_justify="left")
    for f in HEALTH_COLUMNS:
        table.add_column(f, no_wrap=f in ("status", "last_run_cost"))  # read as one phrase
    for r in rows:
        cells = {**r, "last_run_cost": run_cost(r)}
        table.add_row(*("" if cells.get(f) is None else str(cells[f]) for f in HEALTH_COLUMNS))
    Console(file=out, width=240, highlight=False).print(table)
    for r in rows:
        if r.get("backoff_until") and r.get("last_error"):
            first = r["last_error"].strip().splitlines()[0] if r["last_error"].strip() else ""
            Console(file=out, width=200, highlight=False, soft_wrap=True).print(
                f"  {r['name']}: {first}", markup=False)


# -- the Atom feed --------------------------------------------------------------------------

RTL_LANGUAGES = {"ar", "fa", "ur", "he", "yi", "ps", "sd", "ug", "ckb", "dv"}
FEED_TITLE = "defnews: أخبار الدفاع"
# Characters XML 1.0 forbids (lxml refuses them): C0 controls but tab/newline/CR,
# lone surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def content_xhtml(text: str, language: str) -> str:
    """The story text as XHTML paragraphs in a direction-carrying div."""
    lang = (language or "ar").lower()
    direction = "rtl" if lang.split("-")[0] in RTL_LANGUAGES else "ltr"
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", xml_safe(text)) if p.strip()]
    body = "".join("<p>" + escape(p, quote=False).replace("\n", "<br/>") + "</p>" for p in paragraphs)
    return f'<div dir="{direction}" lang="{escape(lang)}">{body}</div>'


def build_feed(stories: Sequence[Story], sources: Sequence[str] = ()) -> FeedGenerator:
    fg = FeedGenerator()
    scope = ",".join(sorted(sources)) or "all"
    fg.id(f"{PROJECT_URL}#feed:{scope}")
    fg.title(FEED_TITLE + (f" ({', '.join(sorted(sources))})" if sources else ""))
    fg.subtitle("أحدث الأخبار الدفاعية الأصلية بنصها الكامل المنظف")
    fg.link(href=PROJECT_URL, rel="alternate")
    fg.language("ar")  # xml:lang on <feed>
    # RFC 4287 4.1.1: a feed needs an author unless every entry has one.
    fg.author(name="defnews", uri=PROJECT_URL)
    fg.generator("defnews", __version__, PROJECT_URL)
    newest: datetime | None = None
    for story in stories:
        fetched = as_utc(story.fetched_at) or utcnow()
        published = as_utc(story.published_at)
        # A story corrected after publishing (storage/corrections.py) is updated then:
        # readers show an entry again when its <updated> moves.
        updated = as_utc(getattr(story, "updated_at", None)) or published or fetched
        newest = updated if newest is None or updated > newest else newest
        fe = fg.add_entry(order="append")
        fe.id(xml_safe(story.url))
        fe.title(xml_safe(story.title) or xml_safe(story.url))
        fe.link(href=xml_safe(story.url), rel="alternate")
        if story.author:
            fe.author(name=xml_safe(story.author))
        if published is not None:
            fe.published(published)
        fe.updated(updated)
        fe.category(term=story.source, label=story.source)
        fe.content(content_xhtml(story.text, story.language), type="xhtml")
    fg.updated(newest or utcnow())
    return fg


def write_feed(stories: Sequence[Story], out: IO[str], *, sources: Sequence[str] = ()) -> int:
    """Write the Atom feed of `stories` (newest first, from storage); return the entry count."""
    fg = build_feed(stories, sources)
    out.write(fg.atom_str(pretty=True).decode("utf-8"))
    return len(stories)


# -- the shared frontier's workers (`defnews workers`) --------------------------------------

def print_workers(rows: Sequence[SourceFrontier], out: IO[str]) -> None:
    """Per source: the run, the queue, each live worker and what it holds; then the dead
    workers whose requests were just put back in the queue."""

    def when(ts: float | None) -> str:
        return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds") if ts else ""

    table = Table(title="defnews workers", title_justify="left")
    for col in ("source", "run", "queued", "worker", "since", "holds", "seeds", "taken"):
        table.add_column(col)
    for r in rows:
        run = f"{r.run} ({'ended' if r.run_ended else 'live'}, {r.joined} joined)" if r.run else ""
        if not r.workers:
            table.add_row(r.source, run, str(r.queued), "(none)", "", "", "", "")
        for w in r.workers:
            table.add_row(r.source, run, str(r.queued), w.worker, when(w.since), str(w.holds),
                          "owner" if w.worker == r.seed_owner else "", str(w.taken))
    console = Console(file=out, width=160, highlight=False, soft_wrap=True)
    console.print(table)
    for r in rows:
        for w, n in r.requeued_now.items():
            console.print(f"  {r.source}: worker {w} is gone; {n} of its requests put back in the queue",
                          markup=False)
