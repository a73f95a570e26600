"""`campaign` roles as processes of their own, as operators run them, with their output in a
log file of the test's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def start_campaign(log: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "LOG_FORMAT": "json", **env}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.ops.cli", *args],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 40) -> int:
    """SIGTERM (unless it exited already), and its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return int(process.wait(timeout=timeout))
