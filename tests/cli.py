"""Run the `campaign` command against a database, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys


def campaign(
    dsn: str, *args: str, check: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": dsn, "LOG_FORMAT": "json", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "services.ops.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )
