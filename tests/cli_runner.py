"""`ai-readiness` in a fresh process for tests/test_incremental_build.py: optionally as if some code files had
been edited (their content hashes changed; the work tree is never touched), and reporting which heavy libraries
the command imported.

Run: python -m tests.cli_runner [--edited PATH ...] -- build [ARGS]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

HEAVY = {"dagster", "pandas", "great_expectations", "pyarrow"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edited", action="append", default=[], metavar="PATH")
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    from pipelines.orchestration import incremental

    if args.edited:
        real = incremental.CodeVersion.current()
        edited = dataclasses.replace(real, files={**real.files, **{path: "edited" for path in args.edited}})
        incremental.CodeVersion.current = classmethod(lambda cls: edited)
    from pipelines import cli

    code = cli.main([a for a in args.argv if a != "--"])
    heavy = sorted({name.split(".")[0] for name in sys.modules} & HEAVY)
    print(f"heavy imports: {','.join(heavy) or 'none'}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
