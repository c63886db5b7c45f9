"""A small, known set of stories for the reader's tests (and the browser test).

Spellings are chosen so every folding the search promises has a story to find: hamza
forms, diacritics, tatweel, ta marbuta and alef maqsura. Texts of the bulk stories are
random words (seeded), far apart enough that dedup keeps them separate.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from crawler.items import Record
from crawler.text.revisions import version_hash
from storage.db import open_db
from storage.stories import store_records

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
_WORDS = ("الجيش القوات البحرية الجوية الدفاع وزارة صفقة طائرات دبابات مناورات تدريب قاعدة "
          "الحدود الأمن العسكري مقاتلة منظومة رادار سفينة غواصة الصناعات الإنتاج المحلي "
          "التعاون الاتفاق الرئيس القائد الأركان الفريق اللواء العقيد الكتيبة الفرقة اللوجستي "
          "الميدان الهجوم الدفاعي التسليح الذخائر المدفعية الصواريخ الباليستية المسيرات").split()

ISRAEL_TEXT = ("أعلنت إسرائيل اليوم عن اختبار منظومة جديدة للدفاع الجوي في صحراء النقب.\n\n"
               "وقال المتحدث إن الاختبار نجح في اعتراض أهداف متعددة على ارتفاعات مختلفة، "
               "وإن المنظومة ستدخل الخدمة العام المقبل بعد استكمال التجارب الميدانية.\n\n"
               "وأضاف أن القُوّات المسلحة تعمل على دمج المنظومة مع الرادارات القائمة.")
TANK_TEXT = ("تسلّم الجيـــش المصري دفعة جديدة من الدبابات المطورة محلياً ضمن برنامج التحديث.\n\n"
             "وأوضح بيان رسمي أن الدفعة تضم عشرات المركبات المزودة بأنظمة رؤية ليلية متقدمة "
             "ونظام اتصالات رقمي، وأن مصطفى حسن قائد البرنامج أشرف على التسليم في القاهرة.\n\n"
             "وتأتي الصفقة في إطار خطة لرفع كفاءة القوة المدرعة خلال السنوات الخمس المقبلة.")
XSS_TEXT = ("<script>alert('x')</script> نص يحاول حقن شفرة في صفحة القارئ عبر عنوان الخبر ونصه.\n\n"
            "ويجب أن يظهر هذا النص كما هو دون أن ينفذ المتصفح أي شيء منه أبداً في أي صفحة.")


def _bulk_text(rng: random.Random) -> str:
    return "\n\n".join(" ".join(rng.choice(_WORDS) for _ in range(40)) for _ in range(3))


def records(bulk: int = 45, now: datetime = NOW) -> list[Record]:
    """The stories, in storing order; the copies come after their original."""
    def rec(source, url, title, text, hours, lang="ar", author=""):
        return Record(source=source, url=url, title=title, text=text, author=author,
                      published_at=now - timedelta(hours=hours), date_source="meta",
                      language=lang, fetched_at=now - timedelta(hours=hours) + timedelta(minutes=5),
                      page_hash=version_hash(title, text))
    out = [
        rec("alpha", "https://alpha.example/israel", "إسرائيل تختبر منظومة دفاع جوي جديدة",
            ISRAEL_TEXT, 3, author="مراسل ألفا"),
        rec("beta", "https://beta.example/news/israel-copy", "إسرائيل تختبر منظومة دفاع جوي جديدة",
            ISRAEL_TEXT, 2),
        rec("gamma", "https://gamma.example/israel-again", "إسرائيل تختبر منظومة دفاع جوي جديدة",
            ISRAEL_TEXT + "\n\nالمصدر: وكالات", 1),
        rec("beta", "https://beta.example/tanks", "الجيش المصري يتسلم دبابات مطورة", TANK_TEXT, 5),
        rec("alpha", "https://alpha.example/xss", "<b>عنوان</b> <script>alert(1)</script>",
            XSS_TEXT, 6),
        rec("gamma", "https://gamma.example/en", "Navy commissions a new frigate",
            "The navy commissioned a new frigate on Monday after two years of sea trials.\n\n"
            "The ship carries an air defence system and an anti-submarine helicopter.", 7,
            lang="en"),
    ]
    rng = random.Random(12)
    for i in range(bulk):
        out.append(rec("bulk", f"https://bulk.example/{i}", f"خبر رقم {i} عن {rng.choice(_WORDS)}",
                       _bulk_text(rng), 24 + i))
    return out


def fill(url: str, bulk: int = 45, now: datetime = NOW) -> dict[str, int]:
    """Store the stories in ``url``; return url -> story id."""
    engine, factory = open_db(url)
    try:
        recs = records(bulk, now)
        out = store_records(factory, recs[:1])
        out += store_records(factory, recs[1:])
        return {r.url: o.story_id for r, o in zip(recs, out)}
    finally:
        engine.dispose()


CONFIG = """\
database: sqlite:///unused.db
sources:
  - name: alpha
    url: https://alpha.example/
    feeds: [https://alpha.example/feed/]
  - name: beta
    url: https://beta.example/
    feeds: ["https://beta.example/rss?x=1&y=2"]
  - name: gamma
    url: https://gamma.example/
  - name: bulk
    url: https://bulk.example/
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(db_url: str, config_path: Path, *extra: str, timeout: float = 30,
            quiet: bool = False) -> Iterator[tuple[str, subprocess.Popen]]:
    """`defnews serve` in a real process on a free loopback port: (base URL, process).
    Stopped with SIGTERM (then SIGKILL after 15 s) on the way out."""
    from tests.conftest import ROOT, defnews_cmd

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DEFNEWS_CONFIG", None)
    env.pop("DEFNEWS_DB", None)
    proc = subprocess.Popen([*defnews_cmd(), *(["-q"] if quiet else []), "--config", str(config_path),
                             "--db", db_url, "serve",
                             "--port", str(port), *extra], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"defnews serve exited {proc.returncode}: {proc.stdout.read()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("defnews serve did not listen within the time") from None
                time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
