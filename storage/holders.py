"""Who holds a lock or runs a crawl: ``host:pid:nonce`` identities, and whether one is dead.

Shared by the locks (storage/locks.py) and the run records (storage/runs.py): both need to
know whether a process recorded in the database still exists, and only a process on this
very machine can be known dead before its lease expires.
"""

from __future__ import annotations

import os
import socket
import uuid


def make_holder() -> str:
    """``host:pid:nonce``: who holds a lock, readable by humans and by `holder_is_dead`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _parse_holder(holder: str) -> tuple[str, int | None]:
    host, _, rest = holder.rpartition(":")  # nonce
    host, _, pid = host.rpartition(":")
    try:
        return host, int(pid)
    except ValueError:
        return host, None


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this machine (zombies count as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:  # a zombie (killed, not yet reaped by its parent) holds nothing any more
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def holder_is_dead(holder: str) -> bool:
    """Only a holder on this very machine can be known dead before its lock expires."""
    host, pid = _parse_holder(holder)
    return host == socket.gethostname() and pid is not None and not pid_alive(pid)
