"""Settings of the web app, read once from the environment when the app is built."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sf_benefits import config

SECRET_KEY_ENV = "SF_BENEFITS_SECRET_KEY"
SECURE_COOKIES_ENV = "SF_BENEFITS_SECURE_COOKIES"
JOB_MODE_ENV = "SF_BENEFITS_JOB_MODE"
JOB_WORKERS_ENV = "SF_BENEFITS_JOB_WORKERS"
WARM_BENCHMARKS_ENV = "SF_BENEFITS_WARM_BENCHMARKS"
TRUSTED_PROXIES_ENV = "SF_BENEFITS_TRUSTED_PROXIES"


def _secret_key() -> str:
    """The signing key: `SF_BENEFITS_SECRET_KEY`, else one kept in the data directory (created
    readable by its owner only, never briefly readable by others)."""
    env = os.environ.get(SECRET_KEY_ENV)
    if env:
        return env
    path = Path(config.data_dir()) / "web_secret_key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class WebSettings:
    """How the app signs cookies, runs background jobs and limits uploads and log-ins."""

    secret_key: str = field(default_factory=_secret_key, repr=False)
    secure_cookies: bool = field(default_factory=lambda: _flag(SECURE_COOKIES_ENV, True))
    session_hours: int = 8
    job_mode: str = field(default_factory=lambda: os.environ.get(JOB_MODE_ENV, "process"))
    job_workers: int = field(default_factory=lambda: int(os.environ.get(JOB_WORKERS_ENV, "2")))
    warm_benchmarks: bool = field(default_factory=lambda: _flag(WARM_BENCHMARKS_ENV, True))
    max_upload_bytes: int = 5 * 1024 * 1024
    login_failures_allowed: int = 5
    login_window_minutes: int = 5
    ip_failures_allowed: int = 30
