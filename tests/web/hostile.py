"""The hostile web: a local web of sites that each mix ordinary articles with one hostile thing.

Every site is an ordinary news site (robots.txt, a feed, three good articles) plus one
fault a stranger's server or a flaky network can produce: bad links in a feed, redirect
loops and `file://` redirects, XML bombs and external entities pointing at a canary file,
gzip bombs on one and two layers, a 2 GiB Content-Length, slowloris, a mute socket,
connection resets, 429, broken and huge feeds, pathological markup and mixed encodings.

Raw faults (resets, mute sockets, dribbled bytes) are `Raw` routes: a function that gets the
request handler and does what it likes with the socket. Every wait here is bounded by
`HostileWeb.stop_event` (set by `stop()`) and by a hard cap, so a test never hangs on it.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Callable

from tests.web.fixtureweb import ALPHA_ARTICLES, BETA_ARTICLES, Article, rss, wp_page
from tests.web.server import Hit, Request, Resp, Site, Web

MAX_HOLD = 30.0  # no raw fault holds a socket longer than this, whatever the test does


@dataclass
class Raw:
    """A route that writes (or does not write) to the socket itself."""

    fn: Callable[["object", threading.Event], None]


class HostileWeb(Web):
    """Web whose routes may also be `Raw` faults."""

    def __init__(self, *sites: Site) -> None:
        super().__init__(*sites)
        self.stop_event = threading.Event()

    def stop(self) -> None:
        self.stop_event.set()
        super().stop()

    def _handler_for(self, site: Site):
        base = super()._handler_for(site)
        web = self

        class H(base):  # type: ignore[misc, valid-type]
            def _serve(self, head: bool) -> None:
                handler = site.routes.get(self.path)
                if isinstance(handler, Raw):
                    with web._lock:
                        web.log.append(Hit(site.host, self.command, self.path,
                                           {k.lower(): v for k, v in self.headers.items()}, 0))
                        key = (site.host, self.path)
                        web._counts[key] = web._counts.get(key, 0) + 1
                    self.close_connection = True
                    try:
                        handler.fn(self, web.stop_event)
                    except OSError:
                        pass
                    return
                super()._serve(head)

        return H


# -- raw faults ---------------------------------------------------------------------------
def mute(h, stop: threading.Event) -> None:
    """Accept, read the request, never answer (a host whose server is wedged)."""
    stop.wait(MAX_HOLD)


def reset(h, stop: threading.Event) -> None:
    """Close with a TCP RST (SO_LINGER 0): the client sees 'connection reset by peer'."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()


def slowloris(h, stop: threading.Event) -> None:
    """Answer 200 with a promised body, then dribble one byte every 0.2 s."""
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                  b"Content-Length: 100000\r\n\r\n<html><body>")
    h.wfile.flush()
    started = time.monotonic()
    while not stop.wait(0.2) and time.monotonic() - started < MAX_HOLD:
        h.wfile.write(b" ")
        h.wfile.flush()


def two_gib(h, stop: threading.Event) -> None:
    """Announce 2 GiB, send a little, hold: a client must give up on the header alone."""
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                  b"Content-Length: 2147483648\r\n\r\n" + b"<html>" + b" " * 65536)
    h.wfile.flush()
    stop.wait(MAX_HOLD)


def once_then(fault: Callable, resp: Resp) -> Callable[[Request], object]:
    """The fault on the first request of a path, then the ordinary answer."""

    def handler(req: Request):
        return Raw(fault) if req.count == 1 else resp

    return handler


# -- hostile documents -----------------------------------------------------------------
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + ']>\n<rss version="2.0"><channel><title>&lol9;</title>'
    '<item><title>&lol9;</title><link>http://example.invalid/&lol9;</link></item></channel></rss>'
)


def xxe_feed(canary: Path) -> str:
    return ('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://' + str(canary) + '">]>\n'
            '<rss version="2.0"><channel><title>&xxe;</title><item><title>&xxe;</title>'
            '<description>&xxe;</description><link>http://example.invalid/xxe</link></item></channel></rss>')


def xxe_sitemap(canary: Path) -> str:
    return ('<?xml version="1.0"?>\n<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://' + str(canary) + '">]>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&xxe;</loc></url></urlset>')


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes gzipped (about 1/1000 of that on the wire)."""
    return gzip.compress(b"\0" * size, compresslevel=9)


def deep_page(title: str, paragraphs: tuple[str, ...], depth: int) -> str:
    """Five paragraphs with `depth` nested <div>s between the second and the third."""
    p = [f"<p>{escape(x)}</p>" for x in paragraphs]
    return (f'<!DOCTYPE html><html lang="ar"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'</head><body><article><h1>{escape(title)}</h1>{p[0]}{p[1]}'
            + "<div>" * depth + "عمق" + "</div>" * depth
            + "".join(p[2:]) + "</article></body></html>")


def mixed_bytes_page(title: str, paragraphs: tuple[str, ...]) -> bytes:
    """Declared UTF-8 and mostly UTF-8, with NULs, control bytes and invalid sequences."""
    body = (f'<!DOCTYPE html><html lang="ar"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'</head><body><article><h1>{escape(title)}</h1>').encode()
    for i, para in enumerate(paragraphs):
        raw = para.encode()
        cut = len(raw) // 2
        while raw[cut] & 0xC0 == 0x80:  # keep the insert between characters
            cut += 1
        junk = [b"\x00", b"\xff\xfe", b"\x01\x1b", b"\xc3", b"\x00\x00"][i % 5]
        body += b"<p>" + raw[:cut] + junk + raw[cut:] + b"</p>"
    return body + b"</article></body></html>"


def utf16_rss(items: list[tuple[str, Article]], base: str) -> bytes:
    return rss(items, base).replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")


# -- the web ---------------------------------------------------------------------------
FIVE_PARAS = (
    "أعلنت رئاسة الأركان أن الوحدات البحرية أنهت المرحلة الأولى من تمرين الدفاع الساحلي بمشاركة زوارق الصواريخ وطائرات الدورية البحرية.",
    "وقال المتحدث العسكري إن التمرين تضمن رمايات حية على أهداف عائمة على مسافة عشرين ميلا بحريا من الساحل الغربي.",
    "وأضاف أن المرحلة الثانية ستبدأ الأسبوع المقبل وتشمل عمليات إنزال برمائي على جزيرة غير مأهولة في عرض البحر.",
    "وحضر التمرين ملحقون عسكريون من دول صديقة، اطلعوا على قدرات القيادة والسيطرة وأنظمة الرصد الساحلي الجديدة.",
    "ويأتي التمرين ضمن خطة التدريب السنوية التي تهدف إلى رفع جاهزية القوات لمواجهة التهديدات في الممرات البحرية.",
)

SITES = ("links", "redirects", "xml", "gzip", "big", "slow", "mute", "feeds", "dead", "rate", "reset", "markup")
OFFSITE = "offsite"
DEAD_LINKS = 10_000


@dataclass
class Hostile:
    web: HostileWeb
    sites: dict[str, Site]
    canary: Path
    canary_text: str
    good: dict[str, list[str]]  # source -> URLs of its ordinary articles (all must be stored)
    good_articles: dict[str, Article]  # URL -> the article served there

    def stop(self) -> None:
        self.web.stop()


def _articles():
    pool = [*ALPHA_ARTICLES, *BETA_ARTICLES]
    i = 0
    while True:
        yield pool[i % len(pool)]
        i += 1


def start_hostile(tmp: Path) -> Hostile:
    """Start the hostile web; its canary file lives in `tmp` and must never be read."""
    canary = tmp / "canary.txt"
    canary_text = "CANARY-must-never-be-read-7f3a9c"
    canary.write_text(canary_text)
    sites = {name: Site(f"127.0.0.{21 + i}") for i, name in enumerate((*SITES, OFFSITE))}
    web = HostileWeb(*sites.values()).start()
    arts = _articles()
    good: dict[str, list[str]] = {}
    good_articles: dict[str, Article] = {}

    def ordinary(name: str, n: int = 3) -> list[tuple[str, Article]]:
        site = sites[name]
        site.routes["/robots.txt"] = Resp("User-agent: *\nAllow: /\n", content_type="text/plain")
        out = []
        for k in range(n):
            a = next(arts)
            path = f"/news/{name}-{k}/"
            a = Article(f"{name}{k}", path, a.title, a.paragraphs, a.published, a.author)
            site.routes[path] = Resp(wp_page(a, site.base))
            out.append((site.url(path), a))
            good_articles[site.url(path)] = a
        good[name] = [u for u, _ in out]
        return out

    def feed(name: str, items: list[tuple[str, Article]], path: str = "/feed.xml") -> None:
        sites[name].routes[path] = Resp(rss(items, sites[name].base), content_type="application/rss+xml; charset=utf-8")

    def stub(link: str, key: str) -> tuple[str, Article]:
        return link, Article(key, "", f"عنوان {key}", ("نص",), None)

    canary_url = f"file://{canary}"

    # links: one feed whose entries between the good ones are javascript:, data:, file:,
    # malformed and off-site links.
    g = ordinary("links")
    feed("links", [g[0], stub("javascript:alert(document.cookie)", "js"), g[1],
                   stub("data:text/html;base64,PGgxPmhpPC9oMT4=", "data"), stub(canary_url, "file"),
                   stub("http://[::1", "malformed"), stub(sites[OFFSITE].url("/news/elsewhere/"), "off"), g[2]])
    sites[OFFSITE].routes["/news/elsewhere/"] = Resp(wp_page(Article("o", "/news/elsewhere/", "خبر خارجي", FIVE_PARAS[:3], None), sites[OFFSITE].base))

    # redirects: a loop, a chain too long to follow, a redirect to file:// and one off-site.
    s = sites["redirects"]
    g = ordinary("redirects")
    s.routes["/loop-a"] = Resp("", status=302, headers={"Location": "/loop-b"})
    s.routes["/loop-b"] = Resp("", status=302, headers={"Location": "/loop-a"})
    for i in range(30):
        s.routes[f"/chain/{i}"] = Resp("", status=301, headers={"Location": f"/chain/{i + 1}"})
    s.routes["/to-file"] = Resp("", status=302, headers={"Location": canary_url})
    s.routes["/to-offsite"] = Resp("", status=302, headers={"Location": sites[OFFSITE].url("/news/elsewhere/")})
    feed("redirects", [g[0], stub(s.url("/loop-a"), "loop"), stub(s.url("/chain/0"), "chain"), g[1],
                       stub(s.url("/to-file"), "tofile"), stub(s.url("/to-offsite"), "tooff"), g[2]])

    # xml: the good feed, a billion-laughs feed, an XXE feed; XXE and bomb sitemaps.
    s = sites["xml"]
    feed("xml", ordinary("xml"))
    s.routes["/bomb.xml"] = Resp(BILLION_LAUGHS, content_type="application/rss+xml")
    s.routes["/xxe.xml"] = Resp(xxe_feed(canary), content_type="application/rss+xml")
    s.routes["/sitemap-xxe.xml"] = Resp(xxe_sitemap(canary), content_type="application/xml")
    s.routes["/sitemap-bomb.xml"] = Resp(BILLION_LAUGHS.replace("rss", "urlset"), content_type="application/xml")

    # gzip: a one-layer bomb (Content-Encoding) as an article, a two-layer one as a sitemap.
    s = sites["gzip"]
    g = ordinary("gzip")
    s.routes["/news/bomb/"] = Resp(gzip_bomb(50_000_000), headers={"Content-Encoding": "gzip"})
    s.routes["/sitemap.xml.gz"] = Resp(gzip.compress(gzip_bomb(50_000_000)), content_type="application/x-gzip",
                                       headers={"Content-Encoding": "gzip"})
    feed("gzip", [g[0], stub(s.url("/news/bomb/"), "bomb"), g[1], g[2]])

    # big: a 2 GiB Content-Length.
    s = sites["big"]
    g = ordinary("big")
    s.routes["/news/huge/"] = Raw(two_gib)
    feed("big", [g[0], g[1], stub(s.url("/news/huge/"), "huge"), g[2]])

    # slow: slowloris and a mute article on a host that otherwise answers.
    s = sites["slow"]
    g = ordinary("slow")
    s.routes["/news/dribble/"] = Raw(slowloris)
    s.routes["/news/silent/"] = Raw(mute)
    feed("slow", [g[0], stub(s.url("/news/dribble/"), "dribble"), g[1], stub(s.url("/news/silent/"), "silent"), g[2]])

    # mute: a host that accepts connections and never answers, robots.txt included.
    s = sites["mute"]
    for path in ("/robots.txt", "/feed.xml", "/sitemap.xml", "/", "/news/"):
        s.routes[path] = Raw(mute)
    good["mute"] = []

    # feeds: empty 200, an RSS with no items, truncated, UTF-16, garbage; 3 good articles
    # spread over the truncated and UTF-16 feeds.
    s = sites["feeds"]
    g = ordinary("feeds")
    s.routes["/empty.xml"] = Resp(b"", content_type="application/rss+xml")
    s.routes["/noitems.xml"] = Resp(rss([], s.base), content_type="application/rss+xml")
    whole = rss([g[0], g[1], stub(s.url("/news/cut/"), "cut")], s.base)
    second_end = whole.index("</item>", whole.index("</item>") + 1) + len("</item>")
    s.routes["/truncated.xml"] = Resp(whole[: second_end + 60], content_type="application/rss+xml")
    s.routes["/utf16.xml"] = Resp(utf16_rss([g[2]], s.base), content_type="application/rss+xml")
    s.routes["/garbage.xml"] = Resp(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, content_type="application/rss+xml")

    # dead: a 10 000-entry feed around three good links: 1 000 on-site links that answer
    # 404 and 9 000 off-site ones (dropped without a request: keeps the test quick).
    s = sites["dead"]
    g = ordinary("dead")
    dead = [stub(s.url(f"/news/gone-{i}/"), f"d{i}") if i % 10 == 0 else
            stub(f"http://tracker.invalid/c/{i}", f"t{i}") for i in range(DEAD_LINKS)]
    feed("dead", [g[0], *dead[: DEAD_LINKS // 2], g[1], *dead[DEAD_LINKS // 2:], g[2]])

    # rate: 429 once then the page (retried); 429 on every try.
    s = sites["rate"]
    g = ordinary("rate")
    a = g[1][1]
    once = Resp(wp_page(a, s.base))
    s.routes[a.path] = lambda req: Resp("slow down", status=429) if req.count == 1 else once
    s.routes["/news/always-429/"] = Resp("slow down", status=429)
    feed("rate", [g[0], g[1], stub(s.url("/news/always-429/"), "r429"), g[2]])

    # reset: a reset on the first try of one article, on every try of another.
    s = sites["reset"]
    g = ordinary("reset")
    a = g[1][1]
    s.routes[a.path] = once_then(reset, Resp(wp_page(a, s.base)))
    s.routes["/news/always-reset/"] = Raw(reset)
    feed("reset", [g[0], g[1], stub(s.url("/news/always-reset/"), "rst"), g[2]])

    # markup: 200 000 nested divs between paragraphs, and mixed bytes in a UTF-8 page.
    s = sites["markup"]
    g = ordinary("markup", 1)
    deep = Article("deep", "/news/deep/", "تمرين الدفاع الساحلي يدخل مرحلته الثانية", FIVE_PARAS, None)
    mixed = Article("mixed", "/news/mixed/", "القوات البحرية تنهي تمرين الدفاع الساحلي", FIVE_PARAS, None)
    s.routes[deep.path] = Resp(deep_page(deep.title, deep.paragraphs, 200_000))
    s.routes[mixed.path] = Resp(mixed_bytes_page(mixed.title, mixed.paragraphs))
    for a in (deep, mixed):
        good["markup"].append(s.url(a.path))
        good_articles[s.url(a.path)] = a
    feed("markup", [g[0], (s.url(deep.path), deep), (s.url(mixed.path), mixed)])
    return Hostile(web, sites, canary, canary_text, good, good_articles)


def hostile_config(h: Hostile, db_url: str, *, timeout: float = 2, retries: int = 1,
                   max_page_bytes: int = 5_000_000, names: tuple[str, ...] = SITES) -> str:
    """config.yaml for a crawl of the hostile web: short timeouts keep its worst case small."""
    b = {n: s.base for n, s in h.sites.items()}
    src = {
        "links": f"feeds: [{b['links']}/feed.xml]",
        "redirects": f"feeds: [{b['redirects']}/feed.xml]",
        "xml": (f"feeds: [{b['xml']}/feed.xml, {b['xml']}/bomb.xml, {b['xml']}/xxe.xml]\n"
                f"    sitemaps: [{b['xml']}/sitemap-xxe.xml, {b['xml']}/sitemap-bomb.xml]"),
        "gzip": f"feeds: [{b['gzip']}/feed.xml]\n    sitemaps: [{b['gzip']}/sitemap.xml.gz]",
        "big": f"feeds: [{b['big']}/feed.xml]",
        "slow": f"feeds: [{b['slow']}/feed.xml]",
        "mute": f"feeds: [{b['mute']}/feed.xml]\n    sitemaps: [{b['mute']}/sitemap.xml]\n    start_urls: [{b['mute']}/news/]",
        "feeds": (f"feeds: [{b['feeds']}/empty.xml, {b['feeds']}/noitems.xml, {b['feeds']}/truncated.xml, "
                  f"{b['feeds']}/utf16.xml, {b['feeds']}/garbage.xml]"),
        "dead": f"feeds: [{b['dead']}/feed.xml]",
        "rate": f"feeds: [{b['rate']}/feed.xml]",
        "reset": f"feeds: [{b['reset']}/feed.xml]",
        "markup": f"feeds: [{b['markup']}/feed.xml]",
    }
    sources = "".join(f"  - name: {n}\n    url: {b[n]}/\n    {src[n]}\n" for n in names)
    return f"""database: {db_url}
crawl:
  obey_robots: true
  concurrency: 32
  per_domain_concurrency: 16
  download_delay: 0
  timeout: {timeout}
  retries: {retries}
  max_page_bytes: {max_page_bytes}
sources:
{sources}"""
