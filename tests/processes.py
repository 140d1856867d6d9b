"""Run a snippet of Python in a fresh process with a chosen environment: for what happens at
start-up (settings, logging, the production checks), which one test process cannot redo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project's own settings variables never leak in from the environment running the tests.
SETTINGS_PREFIXES = ("DJANGO_", "EMAIL_", "LOG_", "DATABASE_", "CELERY_")


def run_python(code: str, env: dict, tmp_path=None, *, drop=()) -> subprocess.CompletedProcess:
    """``python -c code`` in the checkout with ``env`` over a clean environment (no
    ``SETTINGS_PREFIXES`` variable, nor any named in ``drop``); ``LOYALTY_VAR_DIR`` in
    ``tmp_path`` when given."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES) and k not in drop
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="loyalty.settings")
    if tmp_path is not None:
        clean["LOYALTY_VAR_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
