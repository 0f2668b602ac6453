"""Forge runs this file when it starts (launch_utils.run_extension_installer). The extension
needs nothing beyond what Forge ships (gradio, fastapi, pydantic, Pillow, the standard library),
except one thing: a queue kept on a PostgreSQL server needs its driver, psycopg 3. It is
installed here, the Forge way, only when a PostgreSQL URL is configured (the environment
variable TASK_SCHEDULER_DATABASE_URL, or the setting in Forge's config.json); otherwise
nothing is installed."""

from __future__ import annotations

import json
import os

import launch

URL_ENV = "TASK_SCHEDULER_DATABASE_URL"
URL_SETTING = "task_scheduler_database_url"
DRIVER = "psycopg[binary]>=3.2"  # 3.2: notifies(timeout=...) for the queue's wake-ups


def configured_url() -> str:
    """The PostgreSQL URL the extension will use, as task_scheduler/forge/settings.py reads it."""
    url = os.environ.get(URL_ENV, "").strip()
    if url:
        return url
    try:
        with open(launch.args.ui_settings_file, encoding="utf-8") as handle:
            return str(json.load(handle).get(URL_SETTING) or "").strip()
    except (OSError, ValueError, AttributeError):
        return ""


if configured_url().lower().startswith(("postgresql://", "postgres://")) and not (
    launch.is_installed("psycopg")
):
    launch.run_pip(f'install "{DRIVER}"', "psycopg, the PostgreSQL driver of Task Scheduler")
