"""A warm process that forks one `defnews crawl` per scheduled run.

Why: a fresh `python -m crawler.cli crawl` imports Scrapy, Twisted, trafilatura, numpy,
SQLAlchemy and the rest before it sends one request: about 3 s of CPU, for a run that
mostly finds nothing new. The zygote imports all of that once (like ``multiprocessing``'s
forkserver with preloaded modules) and forks a child per run, which starts warm.

What still holds, and why:
- Crash isolation. Every crawl is its own process, as before: a crawl that raises,
  segfaults or is killed ends its child only. The child leads its own session (like
  ``start_new_session``), so the scheduler can signal it and its pool workers as a group.
- Twisted's reactor cannot restart: the zygote never imports ``twisted.internet.reactor``
  (each child installs its own), opens no database connection and starts no thread of its
  own before forking, so every child starts from the state a fresh process would have.
- The zygote itself dying (killed, OOM) is not fatal: the scheduler sees the socket close,
  records the runs in flight as crashed, and starts a new zygote for the next run; if no
  zygote can be started it falls back to starting crawl processes the plain way.

Protocol (one ``SOCK_SEQPACKET`` Unix socket pair, JSON messages):
- scheduler -> zygote: ``{"tag": n, "entry": "crawler.cli:main", "argv": [...]}`` with two
  file descriptors attached (the child's stdout and stderr);
- zygote -> scheduler: ``{"tag": n, "pid": pid}`` once forked, then
  ``{"pid": pid, "rc": rc, "cpu": seconds}`` when the child ended (rc as subprocess gives
  it: negative for a signal), from ``os.wait4``: the child's CPU, its workers' included.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any, Sequence

log = logging.getLogger("defnews.zygote")

#: What the zygote imports before it forks: everything a crawl loads.
PRELOAD = ("crawler.cli", "crawler.runner", "crawler.pipelines", "crawler.text.page",
           "crawler.middlewares", "crawler.extensions", "crawler.report",
           "scheduler", "storage.runs", "storage.locks", "storage.migrate", "spiders.news",
           "scrapy.crawler", "scrapy.core.downloader.handlers.http11",
           "scrapy.extensions.corestats", "scrapy.downloadermiddlewares.robotstxt",
           "scrapy.downloadermiddlewares.offsite", "scrapy_redis.scheduler", "alembic.command")
#: Run in the zygote after the imports, so the children inherit warm extraction caches.
WARM_UP = "crawler.text.page:warm_up"
#: What a child runs, with the argv it is given: the `defnews` command line.
ENTRY = "crawler.cli:main"
#: The largest message (an argv) we accept.
MAX_MESSAGE = 1 << 16
#: Seconds the zygote gets to say it is ready (imports take ~4 s on a busy machine).
START_TIMEOUT = 120.0


# -- the zygote process -------------------------------------------------------------------

def preload(names: Sequence[str] = PRELOAD) -> list[str]:
    """Import what a crawl needs and warm the extraction caches; return what failed.

    A module that cannot be imported is only reported: the child imports what it really
    needs itself and fails there with the real error, recorded with its run. Modules are
    named, not imported here: the scheduler imports this module and stays small."""
    failed = []
    for name in [*names, *_scrapy_components()]:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported, the crawl will say more
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    if "twisted.internet.reactor" in sys.modules:  # a child could not install its own
        failed.append("twisted.internet.reactor was imported by a preloaded module")
    try:
        _entry(WARM_UP)()
    except Exception as exc:  # noqa: BLE001
        failed.append(f"warm-up: {type(exc).__name__}: {exc}")
    return failed


def _entry(name: str) -> Any:
    """The function a "module:function" name points to."""
    module, _, func = name.partition(":")
    return getattr(importlib.import_module(module), func)


def _scrapy_components() -> list[str]:
    """The modules of every component Scrapy's default settings name (middlewares,
    extensions, download handlers, ...): a crawler loads them all by name at start."""
    default_settings = importlib.import_module("scrapy.settings.default_settings")
    dotted = re.compile(r"^[a-z_]\w*(\.[A-Za-z_]\w*)+$")
    out: set[str] = set()
    for key in dir(default_settings):
        value = getattr(default_settings, key)
        names = [*value.keys(), *value.values()] if isinstance(value, dict) else [value]
        out.update(n.rsplit(".", 1)[0] for n in names
                   if isinstance(n, str) and dotted.match(n) and n.startswith(("scrapy.", "twisted.")))
    return sorted(out)


def _child(sock: socket.socket, wake: tuple[int, int], started: int, entry: str, argv: list[str],
           fds: list[int]) -> None:
    """In the forked child: become a fresh `defnews` process, run ``entry(argv)``, exit with
    what it returns; never returns. Closing `started` tells the zygote the child leads its
    own session (so the scheduler can signal its group as soon as it knows the pid)."""
    rc = 1
    try:
        os.setsid()
        os.close(started)
        # What a fresh Python process has (SIGPIPE stays ignored, as Python sets it).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        sock.close()
        for fd in wake:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in {devnull, *fds} - {0, 1, 2}:
            os.close(fd)
        sys.argv = ["defnews", *argv]
        # The crawl's pool workers are forked from it: they start warm, sharing the
        # modules the zygote loaded (crawler.runner.make_pool; a plain crawl spawns them).
        os.environ.setdefault("DEFNEWS_POOL_START", "fork")
        rc = _entry(entry)(argv)
    except SystemExit as exc:
        code = exc.code
        rc = code if isinstance(code, int) else (0 if code is None else 1)
        if isinstance(code, str):
            print(code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - a crash of this crawl, reported like Python would
        traceback.print_exc()
        rc = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(rc if isinstance(rc, int) else 1)


def _wait_closed(fd: int, timeout: float = 10.0) -> None:
    """Wait until the other end of pipe `fd` is closed (the child did setsid, or died)."""
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], max(end - time.monotonic(), 0))
            if ready and not os.read(fd, 1):
                return
    finally:
        os.close(fd)


def _send(sock: socket.socket, msg: dict[str, Any]) -> bool:
    try:
        sock.send(json.dumps(msg).encode())
        return True
    except OSError:
        return False


def serve(fd: int) -> int:
    """The zygote's main loop: fork a child per request, report each child's end."""
    sock = socket.socket(fileno=fd)
    # The scheduler decides when we stop (it closes the socket): a SIGTERM sent to every
    # process of the service (systemd's stop) must reach the crawls, which then stop
    # cleanly, without killing the zygote, whose end would kill them at once.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    failed = preload()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    _send(sock, {"ready": os.getpid(), "failed": failed})
    children: set[int] = set()
    open_ = True
    while open_ or children:
        try:
            ready, _, _ = select.select([sock, wake_r] if open_ else [wake_r], [], [], 1.0)
        except InterruptedError:
            ready = []
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        if sock in ready:
            try:
                data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 4)
            except OSError:
                data, fds = b"", []
            if not data:
                open_ = False  # the scheduler is gone: finish reaping, then exit
                for fd_ in fds:
                    os.close(fd_)
            else:
                msg = json.loads(data)
                sys.stdout.flush()
                sys.stderr.flush()
                started_r, started_w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(started_r)
                    _child(sock, (wake_r, wake_w), started_w, msg["entry"], list(msg["argv"]), fds)
                os.close(started_w)
                for fd_ in fds:
                    os.close(fd_)
                _wait_closed(started_r)
                children.add(pid)
                _send(sock, {"tag": msg["tag"], "pid": pid})
        while children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if pid == 0:
                break
            children.discard(pid)
            rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            if open_:
                _send(sock, {"pid": pid, "rc": rc, "cpu": usage.ru_utime + usage.ru_stime})
    return 0


# -- the scheduler's side -------------------------------------------------------------------

class ZygoteError(OSError):
    """No zygote could be started or reached (the caller falls back to plain processes)."""


class Child:
    """A crawl forked by the zygote, with what the scheduler uses of `subprocess.Popen`."""

    def __init__(self, pid: int, stderr: IO[bytes] | None) -> None:
        self.pid = pid
        self.stderr = stderr
        self.returncode: int | None = None
        self.cpu: float | None = None
        self.lost = ""  # why the end is unknown (the zygote died), if it is
        self._done = threading.Event()

    def _finish(self, rc: int, cpu: float | None, lost: str = "") -> None:
        self.returncode, self.cpu, self.lost = rc, cpu, lost
        self._done.set()

    def poll(self) -> int | None:
        return self.returncode if self._done.is_set() else None

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"crawl pid {self.pid}", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode


class Zygote:
    """The scheduler's handle on the zygote process: `spawn` a crawl, as `Popen` would."""

    def __init__(self, cwd: str | Path, env: dict[str, str] | None = None) -> None:
        self.cwd = str(cwd)
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self._lock = threading.Lock()  # one spawn at a time: replies come in order
        self._state = threading.Lock()
        self._tags: dict[int, tuple[threading.Event, list[Child]]] = {}
        self._children: dict[int, Child] = {}
        self._next_tag = 0
        self._reader: threading.Thread | None = None
        self._closing = False

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.sock is not None

    def start(self) -> None:
        """Start the zygote and wait until it has imported everything."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "crawler.zygote", str(theirs.fileno())], cwd=self.cwd, env=self.env,
                stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),), start_new_session=True)
        finally:
            theirs.close()
        ours.settimeout(START_TIMEOUT)
        try:
            data = ours.recv(MAX_MESSAGE)
        except OSError as exc:
            self._kill()
            raise ZygoteError(f"the crawl zygote did not start: {exc}") from None
        if not data:
            rc = self.proc.wait()
            raise ZygoteError(f"the crawl zygote exited at start (exit code {rc})")
        hello = json.loads(data)
        for line in hello.get("failed", []):
            log.warning("crawl zygote: not preloaded: %s", line)
        ours.settimeout(None)
        self.sock = ours
        self._reader = threading.Thread(target=self._read, args=(ours,), daemon=True, name="defnews-zygote")
        self._reader.start()
        log.info("crawl zygote started (pid %d)", self.proc.pid)

    def spawn(self, argv: list[str], *, stdout: int, stderr: int, stderr_file: IO[bytes] | None,
              entry: str = ENTRY) -> Child:
        """Fork `defnews ARGV` (or another ``module:function`` entry) from the zygote, with
        the given stdout/stderr descriptors."""
        with self._lock:
            self._ensure()
            assert self.sock is not None
            with self._state:
                self._next_tag += 1
                tag = self._next_tag
                got: tuple[threading.Event, list[Child]] = (threading.Event(), [])
                self._tags[tag] = got
            try:
                socket.send_fds(self.sock, [json.dumps({"tag": tag, "entry": entry, "argv": argv}).encode()],
                                [stdout, stderr])
            except OSError as exc:
                raise ZygoteError(f"cannot reach the crawl zygote: {exc}") from None
            if not got[0].wait(30) or not got[1]:
                raise ZygoteError("the crawl zygote did not fork the crawl")
            child = got[1][0]
            child.stderr = stderr_file
            return child

    def ensure(self) -> None:
        """Start a new zygote if the last one died (a spawn would, but slowly: call this
        first where a lock is held around the spawn)."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> None:
        if not self.alive:
            if self.proc is not None:
                log.warning("crawl zygote (pid %d) is gone; starting a new one", self.proc.pid)
                self._kill()
            self.start()

    def _read(self, sock: socket.socket) -> None:
        """Dispatch the zygote's messages; on its end, close every child still running."""
        while True:
            try:
                data = sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                break
            msg = json.loads(data)
            with self._state:
                if "tag" in msg:
                    child = Child(msg["pid"], None)
                    self._children[child.pid] = child
                    event, box = self._tags.pop(msg["tag"], (None, []))
                    box.append(child)
                    if event is not None:
                        event.set()
                elif "rc" in msg:
                    child = self._children.pop(msg["pid"], None)
                    if child is not None:
                        child._finish(int(msg["rc"]), msg.get("cpu"))
        with self._state:
            orphans = list(self._children.values())
            self._children.clear()
            for event, _ in self._tags.values():
                event.set()
            self._tags.clear()
        if orphans and not self._closing:
            log.error("crawl zygote died with %d crawls running; they are stopped", len(orphans))
        for child in orphans:  # their exit status is lost with the zygote: stop them
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            child._finish(-signal.SIGKILL, None, lost="the crawl zygote died while it ran")

    def _kill(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def close(self, timeout: float = 2.0) -> None:
        """Stop the zygote: closing its socket makes it exit once its children are reaped."""
        self._closing = True
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self.sock is not None:
            self.sock.close()
            self.sock = None


if __name__ == "__main__":  # python -m crawler.zygote FD (started by scheduler.py)
    sys.exit(serve(int(sys.argv[1])))
