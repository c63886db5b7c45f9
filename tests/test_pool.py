"""The extraction pool's memory: lean spawned workers, bounded extraction state."""

from __future__ import annotations

from datetime import datetime, timezone

from crawler.items import Page, SourceRules
from crawler.pool import make_pool
from crawler.text.page import process_batch

_HEAVY = "sorted({m.split('.')[0] for m in __import__('sys').modules} & {'scrapy', 'twisted', 'sqlalchemy', 'pydantic', 'storage', 'spiders'})"
_PAGE = ("<html lang='ar'><head><title>مناورة</title></head><body><article><h1>مناورة بحرية</h1>"
         + "<p>أعلنت وزارة الدفاع عن مناورة عسكرية مشتركة للقوات البحرية والجوية في المنطقة.</p>" * 5
         + "</article></body></html>").encode()


def test_spawned_workers_load_only_the_extraction():
    pool = make_pool(1, "spawn")
    try:
        page = Page("t", "http://example.com/a", "http://example.com/a", _PAGE, "utf-8", datetime.now(timezone.utc))
        [done] = pool.submit(process_batch, [page], SourceRules("t")).result(timeout=120)
        assert done.status == "ok" and done.record.language == "ar"
        # Neither the crawl's framework nor its storage layer: a worker that imported
        # them (its initializer in crawler.runner, the parent's __main__) pays ~20-55 MiB.
        assert pool.submit(eval, _HEAVY).result(timeout=60) == []
    finally:
        pool.shutdown()


def test_full_pass_loads_a_few_stoplists_not_all():
    import trafilatura.external

    from crawler.text.extract import trafilatura_full_options

    trafilatura_full_options()
    words = trafilatura.external.JT_STOPLIST
    assert "في" in words and "the" in words
    assert len(words) < 10_000  # all 100 of jusText's lists: ~154 000 words, ~30 MiB


def test_the_crawl_process_does_not_load_the_extraction():
    import subprocess
    import sys

    code = ("import sys, pickle, crawler.cli, crawler.runner, crawler.pipelines; "
            "from crawler.items import Processed; pickle.loads(pickle.dumps(Processed('empty'))); "
            "import storage.stories, spiders.news; "
            "print(sorted({'trafilatura', 'justext', 'htmldate', 'crawler.text.page', 'numpy'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_remote_shell_and_a_bounded_wait_for_the_pool():
    from crawler.config import Config
    from crawler.settings import scrapy_settings

    s = scrapy_settings(Config())
    # Scrapy >= 2.19 serves a code-running HTTP endpoint unless told not to.
    assert s["REMOTE_CONTROL_ENABLED"] is False
    assert "scrapy.extensions.remote_control.RemoteControl" not in s["EXTENSIONS_BASE"]
    # Responses waiting for the pipeline: about six pages, not Scrapy's 5 MB (~30).
    assert s["SCRAPER_SLOT_MAX_ACTIVE_SIZE"] <= 1_000_000
