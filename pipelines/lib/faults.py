"""Named crash points for the crash-safety tests: `AI_READINESS_CRASH_AT=<name>` kills the build process with
SIGKILL when it reaches that point (no clean-up runs, as in a power cut). A no-op otherwise."""

from __future__ import annotations

import os
import signal

CRASH_ENV = "AI_READINESS_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
