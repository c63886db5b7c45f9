"""What the benchmarks share: distinct article pages, a loopback web, process-tree metering.

Pages are built from the 181 real pages of the Zyte article-extraction benchmark so sizes
and markup are real; every copy gets its own word order inside each paragraph and a unique
sentence, so the copies are distinct stories (dedup must not merge them) at the original
size. Pages are written to disk once (before anything is timed) and served from there by
a server in its own process, so building or serving pages never shares a GIL with what is
measured.
"""

from __future__ import annotations

import functools
import gzip
import html
import math
import multiprocessing
import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "zyte-article-benchmark" / "html"
BUILDER_VERSION = "4"  # bump when build_page changes: cached pages are rebuilt
FEED_ITEMS = 100  # entries per feed (real feeds hold tens to a few hundred)
SITEMAP_URLS = 1000  # URLs per sitemap of the index

_CHARSET = re.compile(r"""(<meta[^>]+charset\s*=\s*["']?\s*)([A-Za-z0-9_\-:]+)""", re.I)
_RAW = re.compile(r"(<(script|style|title|textarea)\b.*?</\2\s*>)", re.I | re.S)
_TAG = re.compile(r"(<[^>]+>)")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def data_dir() -> Path:
    """The Zyte pages: ../shared/data beside the checkout, or $DEFNEWS_BENCH_DATA."""
    return Path(os.environ.get("DEFNEWS_BENCH_DATA", DATA))


@dataclass
class Template:
    """One real page split into static markup and paragraph text runs (word lists)."""

    name: str
    title: str
    # static markup, or (separator, tokens): a text run whose tokens are shuffled per copy
    parts: list[str | tuple[str, list[str]]] = field(default_factory=list)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("windows-1252", "replace")


@functools.lru_cache(maxsize=4)
def load_templates(directory: Path | None = None) -> list[Template]:
    """Parse the real pages once per process (forked children inherit them): visible text
    runs become shufflable token lists."""
    files = sorted((directory or data_dir()).glob("*.html.gz"))
    if not files:
        raise SystemExit(f"no pages in {directory or data_dir()} (set DEFNEWS_BENCH_DATA)")
    out = []
    for f in files:
        text = _decode(gzip.decompress(f.read_bytes()))
        # Served as UTF-8 whatever the original declared.
        text = _CHARSET.sub(lambda m: m.group(1) + "utf-8", text)
        m = _TITLE.search(text)
        title = " ".join(html.unescape(m.group(1)).split()) if m else f.stem
        parts: list[str | tuple[str, list[str]]] = []
        for k, piece in enumerate(_RAW.split(text)):
            if k % 3 == 2:
                continue  # the tag name captured by _RAW
            if k % 3 == 1:  # a whole <script>/<style>/<title>/<textarea> element
                parts.append(piece)
                continue
            for chunk in _TAG.split(piece):
                words = chunk.split(" ")
                if chunk.startswith("<"):
                    parts.append(chunk)
                elif len(words) >= 4:
                    parts.append((" ", words))
                elif len(chunk.strip()) >= 30:  # scripts written without spaces (CJK)
                    parts.append(("", list(chunk)))
                else:
                    parts.append(chunk)
        out.append(Template(f.name.split(".")[0], title or f.stem, parts))
    return out


def build_page(templates: list[Template], i: int) -> bytes:
    """Page i: template i % 181 with the words of every visible text run shuffled (seeded by i).

    Shuffling words keeps the page's size and markup and each run's vocabulary but changes
    every word n-gram, so no two copies share a fingerprint or look near-duplicate; the
    first run also gets a sentence naming the copy. Runs of fewer than four words (menus,
    buttons) and script, style and title text stay as they are.
    """
    t = templates[i % len(templates)]
    rng = random.Random(i * 7919 + 17)
    out: list[str] = []
    first = True
    for p in t.parts:
        if isinstance(p, tuple):
            sep, tokens = p[0], p[1][:]
            rng.shuffle(tokens)
            if first:
                tokens.insert(0, f"Bench story {i} from copy {i // len(templates)} of {t.name}.{sep}")
                first = False
            out.append(sep.join(tokens))
        else:
            out.append(p)
    return "".join(out).encode("utf-8")


def page_title(templates: list[Template], i: int) -> str:
    t = templates[i % len(templates)]
    return f"{t.title} ({i})"


def ensure_pages(workdir: Path, n: int, procs: int | None = None) -> Path:
    """Write pages 0..n-1 to workdir/pages (cached between runs); returns the folder."""
    pages = workdir / f"pages-v{BUILDER_VERSION}"
    pages.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(n) if not (pages / f"{i}.html").exists()]
    if missing:
        load_templates()  # parsed once here, inherited by the forked builders
        procs = procs or os.cpu_count() or 1
        chunks = [missing[k::procs] for k in range(procs)]
        ctx = multiprocessing.get_context("fork")
        ps = [ctx.Process(target=_write_pages, args=(pages, c)) for c in chunks if c]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
            if p.exitcode:
                raise SystemExit("building pages failed")
    return pages


def _write_pages(folder: Path, indices: list[int]) -> None:
    templates = load_templates()
    for i in indices:
        tmp = folder / f"{i}.html.tmp"
        tmp.write_bytes(build_page(templates, i))
        tmp.replace(folder / f"{i}.html")


# -- the web ------------------------------------------------------------------------------

@dataclass
class BenchSite:
    """Where the pages are: `ports` loopback servers, page i on port i % len(ports)."""

    ports: list[int]
    n: int
    host: str = "127.0.0.1"

    def base(self, k: int = 0) -> str:
        return f"http://{self.host}:{self.ports[k]}"

    def page_url(self, i: int) -> str:
        return f"{self.base(i % len(self.ports))}/news/{i // 1000}/story-{i}.html"

    def urls(self) -> list[str]:
        return [self.page_url(i) for i in range(self.n)]

    def feed_urls(self) -> list[str]:
        return [f"{self.base()}/feed/{j}.xml" for j in range(math.ceil(self.n / FEED_ITEMS))]

    def sitemap_url(self) -> str:
        return f"{self.base()}/sitemap.xml"


_PAGE_PATH = re.compile(r"^/news/\d+/story-(\d+)\.html$")
_FEED_PATH = re.compile(r"^/feed/(\d+)\.xml$")
_SITEMAP_PATH = re.compile(r"^/sitemap-(\d+)\.xml$")
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _feed(site: BenchSite, titles: list[str], j: int) -> bytes:
    items = []
    for i in range(j * FEED_ITEMS, min(site.n, (j + 1) * FEED_ITEMS)):
        url = site.page_url(i)
        when = format_datetime(EPOCH + timedelta(minutes=i))
        items.append(f"<item><title>{html.escape(titles[i])}</title><link>{url}</link>"
                     f"<guid>{url}</guid><pubDate>{when}</pubDate></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>bench {j}</title><link>{site.base()}/</link><description>bench</description>"
            + "".join(items) + "</channel></rss>").encode("utf-8")


def _sitemap(site: BenchSite, j: int | None) -> bytes:
    if j is None:
        count = math.ceil(site.n / SITEMAP_URLS)
        locs = "".join(f"<sitemap><loc>{site.base()}/sitemap-{k}.xml</loc></sitemap>" for k in range(count))
        return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
                f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>').encode()
    locs = "".join(f"<url><loc>{site.page_url(i)}</loc></url>"
                   for i in range(j * SITEMAP_URLS, min(site.n, (j + 1) * SITEMAP_URLS)))
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>').encode()


def _serve(pages: Path, n: int, ports: int, ready: "multiprocessing.connection.Connection") -> None:
    """The server process: `ports` ThreadingHTTPServers on 127.0.0.1 sharing the pages."""
    templates = load_templates()
    titles = [page_title(templates, i) for i in range(n)]
    servers = []
    for _ in range(ports):
        servers.append(ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler))
    site = BenchSite([s.server_address[1] for s in servers], n)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path
            ctype = "text/html; charset=utf-8"
            body: bytes | None = None
            if m := _PAGE_PATH.match(path):
                i = int(m.group(1))
                if i < n:
                    body = (pages / f"{i}.html").read_bytes()
            elif m := _FEED_PATH.match(path):
                body, ctype = _feed(site, titles, int(m.group(1))), "application/rss+xml; charset=utf-8"
            elif path == "/sitemap.xml":
                body, ctype = _sitemap(site, None), "application/xml"
            elif m := _SITEMAP_PATH.match(path):
                body, ctype = _sitemap(site, int(m.group(1))), "application/xml"
            elif path == "/robots.txt":
                body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
            status = 200 if body is not None else 404
            body = body if body is not None else b"not found"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    for s in servers:
        s.RequestHandlerClass = Handler
        s.daemon_threads = True
        s.request_queue_size = 256
        threading.Thread(target=s.serve_forever, daemon=True).start()
    ready.send(site.ports)
    ready.close()
    threading.Event().wait()


class Web:
    """The loopback web in a child process; use as a context manager."""

    def __init__(self, pages: Path, n: int, ports: int = 8) -> None:
        self.pages, self.n, self.nports = pages, n, ports
        self.proc: multiprocessing.Process | None = None
        self.site: BenchSite | None = None

    def __enter__(self) -> BenchSite:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_serve, args=(self.pages, self.n, self.nports, child), daemon=True)
        self.proc.start()
        child.close()
        ports = parent.recv()
        self.site = BenchSite(ports, self.n)
        return self.site

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.join(5)


# -- metering a process tree -------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def tree(pid: int) -> list[int]:
    """pid and all its descendants, now."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _rss_cpu(pid: int) -> tuple[int, float]:
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1]) * _PAGE
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0, 0.0
    return rss, cpu


def _pss(pid: int) -> int:
    """Proportional set size: each page shared by k processes counts 1/k in each, so the
    sum over a tree is what the tree holds (0 where smaps_rollup is unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


class TreeMeter:
    """Samples a process tree: peak of the summed RSS and PSS, CPU seconds per process.

    Summed RSS counts pages shared between the pool's workers (forked from one server)
    once per process, so it overstates what the tree holds: a conservative peak. Summed
    PSS (sampled every ``pss_every`` samples: reading smaps costs more) counts them once.
    CPU is the last reading of every process seen (utime + stime), so short-lived workers
    count too, at the sampling resolution.
    """

    def __init__(self, pid: int, interval: float = 0.1, pss_every: int = 5) -> None:
        self.pid, self.interval, self.pss_every = pid, interval, pss_every
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_split: list[int] = []  # RSS of each process at the summed-RSS peak, root first
        self._samples = 0
        self.peak_procs = 0
        # (seconds since start, summed RSS, RSS of the root process) every ~5 s
        self.timeline: list[tuple[float, int, int]] = []
        self._t0 = time.perf_counter()
        self.cpu: dict[int, float] = {}
        self.main_cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "TreeMeter":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        total = root = 0
        pids = tree(self.pid)
        split = []
        for p in pids:
            rss, cpu = _rss_cpu(p)
            total += rss
            split.append(rss)
            if p == self.pid:
                root = rss
            if cpu:
                self.cpu[p] = max(cpu, self.cpu.get(p, 0.0))
        if pids:
            self.main_cpu = self.cpu.get(self.pid, self.main_cpu)
        if total > self.peak_rss:
            self.peak_rss, self.peak_split = total, split
        if self._samples % self.pss_every == 0:
            self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in pids))
        self._samples += 1
        self.peak_procs = max(self.peak_procs, len(pids))
        elapsed = time.perf_counter() - self._t0
        if not self.timeline or elapsed - self.timeline[-1][0] >= 5:
            self.timeline.append((elapsed, total, root))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


def mb(n_bytes: float) -> float:
    return n_bytes / 1e6


def now() -> float:
    return time.perf_counter()
