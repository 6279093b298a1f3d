"""Where SF Benefits keeps its store and finds its data, from environment variables or defaults."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

DATA_DIR_ENV = "SF_BENEFITS_DATA_DIR"
DATABASE_URL_ENV = "SF_BENEFITS_DATABASE_URL"
SOURCE_DIR_ENV = "SF_BENEFITS_SOURCE_DIR"
PSEUDONYM_KEY_ENV = "SF_BENEFITS_PSEUDONYM_KEY"
OUTPUT_DIR_ENV = "SF_BENEFITS_OUTPUT_DIR"


def data_dir() -> Path:
    """Per-user directory for the embedded store; `SF_BENEFITS_DATA_DIR` moves it."""
    path = Path(os.environ.get(DATA_DIR_ENV) or user_data_dir("sf-benefits", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """SQLAlchemy URL of the store: `SF_BENEFITS_DATABASE_URL`, else SQLite in `data_dir()`."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{data_dir() / 'sf_benefits.sqlite'}"


def output_dir() -> Path:
    """Folder for files written without `--out`: `SF_BENEFITS_OUTPUT_DIR`, else `out` here."""
    return Path(os.environ.get(OUTPUT_DIR_ENV) or "out")


def default_source_dir() -> Path:
    """Directory of published DfE files: `SF_BENEFITS_SOURCE_DIR`, else `../shared/data`."""
    env = os.environ.get(SOURCE_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"
