"""A fork server for the fault tests: Python, Dagster, Great Expectations and DuckDB are imported once, then each
`ai-readiness build` runs in a child process forked from here (`pipelines.cli.main` in a real, separate process
that a crash point or the test kills with SIGKILL). Saves ~8 s of imports per build.

Protocol, one JSON object per line on stdin, one reply per line on stdout:
  {"op": "start", "argv": [...], "env": {NAME: value or null}, "log": path}  ->  {"pid": n}
  {"op": "wait", "pid": n, "timeout": seconds}                             ->  {"exitcode": n or -signal or null}
Registry-dependent settings (AI_READINESS_SOURCES, AI_READINESS_REGISTRY_DIR) are read when the definitions are
imported, so they are fixed for the server's lifetime: start the server with them set.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def _child(command: dict) -> None:
    fd = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for name, value in command.get("env", {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    code = 3
    try:
        from pipelines import cli

        code = cli.main(command["argv"])
    except BaseException as exc:  # noqa: BLE001 - reported in the log, exit code 3
        print(f"build_server child: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait(pid: int, timeout: float, children: set[int]) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.discard(pid)
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def main() -> None:
    import duckdb  # noqa: F401
    import great_expectations  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import pipelines.definitions  # noqa: F401 - the asset graph, made from the registry
    from pipelines import (
        cli,  # noqa: F401
        validation,  # noqa: F401
    )
    from pipelines.model import index_build
    from pipelines.publish import release as publish
    from pipelines.publish import report

    children: set[int] = set()
    reply = sys.stdout
    reply.write(json.dumps({"ready": True}) + "\n")
    reply.flush()
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "start":
                pid = os.fork()
                if pid == 0:
                    _child(command)
                children.add(pid)
                answer = {"pid": pid}
            elif command["op"] == "wait":
                answer = {"exitcode": _wait(command["pid"], float(command["timeout"]), children)}
            else:
                answer = {"error": f"unknown op {command['op']!r}"}
            reply.write(json.dumps(answer) + "\n")
            reply.flush()
    finally:  # the test process went away: leave no build running
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


if __name__ == "__main__":
    main()
