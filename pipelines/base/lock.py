"""One build at a time: an exclusive lock on data/marts/.build.lock.

fcntl locks belong to the process and vanish when it dies, so a build killed with SIGKILL never leaves a stale
lock behind; the pid written into the file is only there to tell the user who holds it.

Both `ai-readiness build` and every Dagster run (UI, schedule, sensor: the ProjectPaths resource) take it, so a
run launched from the UI cannot interleave its steps with a CLI build in the same build warehouse. Within one
process the lock is re-entrant: the CLI holds it, and the run it starts in-process takes it again for free.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".build.lock"
_held: dict[Path, int] = {}  # lock file -> depth, in this process
_held_guard = threading.Lock()


class BuildLocked(Exception):
    """Another build holds the lock."""


@contextmanager
def build_lock(marts_dir: Path, *, wait_seconds: float = 0.0, poll_seconds: float = 0.5):
    marts_dir.mkdir(parents=True, exist_ok=True)
    path = (marts_dir / LOCK_FILE).resolve()
    with _held_guard:
        if path in _held:  # this process holds it already (flock would block on a second open of the file)
            _held[path] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[path] -= 1
        return
    handle = path.open("a+")
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown pid"
                    raise BuildLocked(
                        f"another build is running ({holder}); wait for it or pass --wait SECONDS"
                    ) from None
                time.sleep(poll_seconds)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}")
        handle.flush()
        with _held_guard:
            _held[path] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held[path]
    finally:
        handle.close()  # releases the lock
