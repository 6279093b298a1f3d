"""Download the official published files for a user with internet access, into a data directory
that `sf-benefits data load` then reads. All files arrive, or none replaces what was there."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import yaml

from sf_benefits.ingest.errors import IngestError, Problem

MANIFEST = Path(__file__).parent / "sources.yaml"


@dataclass(frozen=True)
class Source:
    """One official file: where it is published and the name it is saved under."""

    name: str
    url: str
    publisher: str
    description: str


@dataclass(frozen=True)
class Fetched:
    name: str
    url: str
    bytes: int
    sha256: str


def sources(manifest: Path = MANIFEST) -> list[Source]:
    return [Source(**item) for item in yaml.safe_load(manifest.read_text())["files"]]


def _rebase(url: str, base_url: str | None) -> str:
    """Point an official URL at a mirror (same path) — used for tests and offline mirrors."""
    if not base_url:
        return url
    base = urlsplit(base_url)
    parts = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query,
                       ""))


def fetch(directory: Path, base_url: str | None = None, manifest: Path = MANIFEST,
          progress: Callable[[str, int, int], None] | None = None,
          timeout: float = 60.0) -> list[Fetched]:
    """Download every file in the manifest to `directory`; on any failure nothing is replaced."""
    items = sources(manifest)
    fetched: list[Fetched] = []
    with tempfile.TemporaryDirectory() as tmp, httpx.Client(timeout=timeout,
                                                            follow_redirects=True) as client:
        for done, source in enumerate(items, start=1):
            url = _rebase(source.url, base_url)
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                raise IngestError([Problem(url, None, None, "download_failed", str(exc))]) from exc
            if response.status_code != 200:
                raise IngestError([Problem(url, None, None, "download_failed",
                                           f"HTTP {response.status_code}")])
            if not response.content.strip():
                raise IngestError([Problem(url, None, None, "empty_file", "empty download")])
            (Path(tmp) / source.name).write_bytes(response.content)
            fetched.append(Fetched(source.name, url, len(response.content),
                                   hashlib.sha256(response.content).hexdigest()))
            if progress:
                progress(source.name, done, len(items))
        for item in fetched:
            if item.name.endswith(".zip"):
                _unzip(Path(tmp) / item.name, Path(tmp) / Path(item.name).stem)
        directory.mkdir(parents=True, exist_ok=True)
        for item in fetched:
            target = Path(item.name).stem if item.name.endswith(".zip") else item.name
            if (directory / target).is_dir():
                shutil.rmtree(directory / target)
            shutil.move(str(Path(tmp) / target), directory / target)
    return fetched


def _unzip(archive: Path, into: Path) -> None:
    """Extract a downloaded archive, refusing corrupt archives and paths that escape `into`."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            bad = zipped.testzip()
            if bad is not None:
                raise IngestError([Problem(str(archive), None, bad, "corrupt_archive",
                                           "CRC check failed")])
            for member in zipped.namelist():
                if (into / member).resolve().is_relative_to(into.resolve()) is False:
                    raise IngestError([Problem(str(archive), None, member, "unsafe_archive",
                                               "member path leaves the target directory")])
            zipped.extractall(into)
    except zipfile.BadZipFile as exc:
        raise IngestError([Problem(str(archive), None, None, "corrupt_archive", str(exc))]) from exc
