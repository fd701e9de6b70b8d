"""Heavy imports warmed on a background thread for a run (pipelines.base.warm)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from pipelines.base.warm import WARMED_FOR_A_RUN, imported_in_background


def test_modules_are_imported_on_the_warm_thread_and_a_failing_one_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "warm_probe.py").write_text("import threading\nIMPORTED_ON = threading.current_thread().name\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "warm_probe", raising=False)
    with imported_in_background(("no_such_module_for_warming", "warm_probe")) as thread:
        assert thread.name == "warm-imports"
    assert not thread.is_alive()  # the block's end waited for it
    assert sys.modules["warm_probe"].IMPORTED_ON == "warm-imports"


def test_a_run_of_a_step_that_needs_no_checks_has_great_expectations_imported(tmp_path):
    """The resource warms GX for every run, so the first check does not wait ~3 s for its import."""
    assert WARMED_FOR_A_RUN == ("great_expectations",)
    script = textwrap.dedent(f"""
        import sys
        import dagster as dg
        from pipelines.defs.resources import ProjectPaths

        @dg.asset
        def plain(project: ProjectPaths):
            return 1

        assert "great_expectations" not in sys.modules
        result = dg.materialize([plain], resources={{"project": ProjectPaths(data_dir={str(tmp_path)!r})}})
        assert result.success
        print("great_expectations" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "True"
