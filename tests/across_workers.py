"""Running the suite in several pytest-xdist worker processes (`make test`).

- The expensive session fixtures of tests/conftest.py (`built`: a full build; `wdi_baseline`: two WDI-only builds)
  are made once per run, in a background process that the first worker starts as soon as it knows a selected
  test needs them, in a folder all workers share; every worker waits for the result only when a test needs it,
  and runs other tests meanwhile.
- Which tests run in one worker (tests.conftest._unit), for `--dist loadgroup` under pytest 9 (unit_scheduling).

Run (a background fixture): python -m tests.across_workers NAME FOLDER MIRROR RESULT_JSON
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import PROJECT_ROOT

WAIT_SECONDS = 1200  # a build's own timeout (run_build, 600 s) plus a busy machine's slack
UNITS = "xdist_units.json"


def shared_root(tmp_path_factory) -> Path:
    """The run's temp folder: under xdist each worker's basetemp is a subfolder of it (pytest-xdist's documented
    pattern for session fixtures made once)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value))
    tmp.replace(path)  # atomic: a reader never sees half of it


# --- which tests run in one worker ----------------------------------------------------------------------------


def write_units(root: Path, units: dict[str, str]) -> None:
    """A worker's collection, nodeid -> unit (tests.conftest._unit), for the controller's scheduler."""
    _write_json(root / UNITS, units)  # every worker writes the same map


def unit_scheduling(config, log):
    """`--dist loadgroup` for pytest 9: pytest-xdist 3.8 groups tests by renaming `item._nodeid`, which pytest 9
    no longer reads (an xdist_group mark then changes nothing). Here a unit is what tests.conftest._unit says,
    read from the map the workers wrote before they reported their collection; units are handed out in the
    collection's order (tests.conftest puts the tests that wait for a background fixture last)."""
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        units: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.units is None:
                self.units = json.loads((config._tmp_path_factory.getbasetemp() / UNITS).read_text())
            return self.units.get(nodeid, nodeid)

    config.option.loadscopereorder = False  # the collection's order, not the largest unit first
    return UnitScheduling(config, log)


# --- session fixtures made once, in the background ------------------------------------------------------------


class Background:
    """One fixture's value, made by `python -m tests.across_workers NAME ...` in root/NAME: started by the first
    worker that asks, awaited by every worker whose test needs it."""

    def __init__(self, root: Path, name: str, mirror: Path):
        self.name, self.folder, self.mirror = name, root / name, mirror
        self.result = root / f"{name}.json"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        try:
            self.folder.mkdir()  # atomic: exactly one worker starts it
        except FileExistsError:
            return
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.across_workers", self.name, str(self.folder), str(self.mirror),
             str(self.result)],
            cwd=PROJECT_ROOT, start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=(self.folder.parent / f"{self.name}.log").open("w"), stderr=subprocess.STDOUT)

    def running(self) -> bool:
        """Started by this worker and not finished."""
        return self.process is not None and self.process.poll() is None

    def value(self):
        """What the fixture returns, once made; fails with the maker's message if it failed."""
        self.start()  # not started yet if no test selected at the start needed it
        deadline = time.monotonic() + WAIT_SECONDS
        while not self.result.exists():
            if self.process is not None and self.process.poll() is not None and not self.result.exists():
                log = (self.folder.parent / f"{self.name}.log").read_text()[-5000:]
                raise AssertionError(f"{self.name}: its maker exited {self.process.returncode}:\n{log}")
            assert time.monotonic() < deadline, f"{self.name} was not made in {WAIT_SECONDS} s"
            time.sleep(0.2)
        made = json.loads(self.result.read_text())
        assert made["ok"], f"{self.name} failed:\n{made['error']}"
        return made["value"]

    def stop(self) -> None:
        """End what this worker started if it still runs: its whole process group (builds and build server)."""
        if self.running():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _make_built(folder: Path, mirror: Path) -> dict:
    """One full build from the mirror (tests.conftest.run_build, as `make run` starts it)."""
    from tests.conftest import run_build

    data_dir = folder / "data"
    try:
        result = run_build(data_dir, mirror)
    except subprocess.TimeoutExpired as exc:
        return {"ok": False, "error": f"build timed out: {exc}"}
    if result.returncode != 0:
        return {"ok": False, "error": f"build failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"}
    return {"ok": True, "value": str(data_dir)}


def _make_wdi_baseline(folder: Path, mirror: Path) -> dict:
    """tests.fault_support.make_baseline, with a build server of its own."""
    from tests.fault_support import BuildServer, make_baseline, server_env

    server = BuildServer(server_env(mirror), folder / "server")
    try:
        return {"ok": True, "value": make_baseline(server, folder).to_json()}
    finally:
        server.close()


MAKERS = {"built": _make_built, "wdi_baseline": _make_wdi_baseline}


def _main(name: str, folder: str, mirror: str, result: str) -> int:
    try:
        made = MAKERS[name](Path(folder), Path(mirror))
    except BaseException as exc:  # noqa: BLE001 - reported to every waiting test
        made = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[-8000:]}
    _write_json(Path(result), made)
    return 0


if __name__ == "__main__":
    sys.exit(_main(*sys.argv[1:]))
