"""The crawl zygote (crawler/zygote.py): forked crawls start warm and clean, and whatever
happens to one of them, or to the zygote itself, the scheduler's side carries on."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from crawler.zygote import Zygote
from tests.conftest import ROOT
from tests.web.aggsite import env, wait_for


# Entries the forked children run instead of `defnews` (named "tests.test_zygote:NAME").
def _crash(argv: list[str]) -> int:
    raise RuntimeError("injected crash " + argv[0])


def _sleep(argv: list[str]) -> int:
    time.sleep(float(argv[0]))
    return 0


def _clean(argv: list[str]) -> int:
    """Exit 0 only in a child that starts like a fresh process: no reactor installed yet,
    no thread but its own, preloaded modules present, its own session."""
    clean = ("twisted.internet.reactor" not in sys.modules and threading.active_count() == 1
             and "scrapy.crawler" in sys.modules and os.getsid(0) == os.getpid())
    return 0 if clean else 3


def _run(z: Zygote, entry: str, *argv: str) -> tuple[object, str]:
    r, w = os.pipe()
    out = os.open(os.devnull, os.O_WRONLY)
    try:
        child = z.spawn(list(argv), stdout=out, stderr=w, stderr_file=os.fdopen(r, "rb"),
                        entry=f"tests.test_zygote:{entry}")
    finally:
        os.close(w)
        os.close(out)
    return child, ""


def _finish(child) -> tuple[int, str]:
    rc = child.wait(timeout=60)
    err = child.stderr.read().decode("utf-8", "replace")
    child.stderr.close()
    return rc, err


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_forked_crawls_are_isolated_from_each_other_and_from_the_zygote() -> None:
    z = Zygote(ROOT, env())
    z.start()
    first_zygote = z.proc.pid
    try:
        child, _ = _run(z, "_clean")
        assert _finish(child)[0] == 0, "a child starts clean: no reactor, no threads, own session"

        child, _ = _run(z, "_crash", "one")
        rc, err = _finish(child)
        assert rc == 1 and "RuntimeError: injected crash one" in err, err
        assert child.cpu is not None and child.cpu >= 0, "the child's CPU is reported"

        child, _ = _run(z, "_sleep", "60")
        os.killpg(child.pid, signal.SIGKILL)  # killed from outside (OOM killer, operator)
        assert _finish(child)[0] == -signal.SIGKILL
        assert z.alive, "a killed crawl does not take the zygote down"
        os.kill(z.proc.pid, signal.SIGTERM)  # systemd's stop signals every process
        time.sleep(0.5)
        assert z.alive, "SIGTERM is for the crawls; the scheduler stops the zygote"

        # The zygote itself dies with a crawl running: the crawl is stopped and reported
        # lost, and the next spawn starts a new zygote.
        child, _ = _run(z, "_sleep", "60")
        os.kill(z.proc.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL and "zygote died" in child.lost
        wait_for(lambda: _gone(child.pid), 10, "the orphaned crawl to be stopped")
        child.stderr.close()
        child, _ = _run(z, "_sleep", "0")
        assert _finish(child)[0] == 0
        assert z.proc.pid != first_zygote, "a new zygote was started"
    finally:
        z.close()
    assert z.proc.poll() is not None, "closing the socket ends the zygote"
