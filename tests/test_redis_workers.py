"""Two `defnews crawl` workers sharing one frontier through Redis (crawl.redis_url)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections import Counter

from tests.conftest import ROOT, defnews_cmd
from tests.web.fixtureweb import config_yaml, expected


def test_two_workers_share_the_frontier(web, tmp_path, redis_url, unique):
    import redis

    w, sites = web
    db = tmp_path / "d.db"
    # a Redis database of its own: keys are named after the sources
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config_yaml(sites, f"sqlite:///{db}").replace(
        "  max_page_bytes: 200000\n", f"  max_page_bytes: 200000\n  redis_url: {redis_url}\n"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([*defnews_cmd(), "--config", str(cfg), "crawl"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL) for _ in range(2)]
    try:
        outs = [p.communicate(timeout=180) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, err
        articles = Counter((h.host, h.path) for h in w.log
                           if h.status == 200 and (h.path.startswith("/20") or "news.php" in h.path))
        assert articles and all(v == 1 for v in articles.values()), "each article fetched by one worker only"
        ttl = client.ttl("alpha:dupefilter")
        assert 0 < ttl <= 6 * 3600, "the shared seen-set expires, so failed pages are retried later"
        w.clear()
        # --full: without it a later run rightly stops at the first listing page holding
        # nothing new (issue 15); a full walk must still get past the persistent seen-set.
        again = subprocess.run([*defnews_cmd(), "--config", str(cfg), "crawl", "--full"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        assert again.returncode == 0, again.stderr
        assert "/category/defense/page/2/" in w.paths(sites["alpha"].host), \
            "pagination is followed again on a later run despite the persistent seen-set"
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        client.flushdb()
        client.close()
    con = sqlite3.connect(db)
    urls = [r[0] for r in con.execute("SELECT url FROM stories")]
    con.close()
    assert sorted(urls) == sorted(expected(sites)), "every article once"
