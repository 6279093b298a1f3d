"""Download the official published files for a user with internet access, into a data directory
that `sf-benefits data load` then reads. All files arrive, or none replaces what was there."""

from __future__ import annotations

import hashlib
import re
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


RELEASE_FILES = re.compile(
    r"https://content\.explore-education-statistics\.service\.gov\.uk/api/releases/"
    r"[0-9a-fA-F-]{36}/files(?=[\"'])")
"""The "download all files" zip of a release, as a publication page links it."""


@dataclass(frozen=True)
class Source:
    """One official file: its fixed `url`, or the publication `page` that links it; the name it
    is saved under."""

    name: str
    publisher: str
    description: str
    url: str | None = None
    page: str | None = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.page is None):
            raise ValueError(f"{self.name}: give either url or page in the sources manifest")


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
            url = _download_url(client, source, base_url)
            response = _get(client, url)
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


def _get(client: httpx.Client, url: str) -> httpx.Response:
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise IngestError([Problem(url, None, None, "download_failed", str(exc))]) from exc
    if response.status_code != 200:
        raise IngestError([Problem(url, None, None, "download_failed",
                                   f"HTTP {response.status_code}")])
    return response


def _download_url(client: httpx.Client, source: Source, base_url: str | None) -> str:
    """The source's fixed URL, or the latest release's all-files link read off its page."""
    if source.url is not None:
        return _rebase(source.url, base_url)
    page = _rebase(str(source.page), base_url)
    link = RELEASE_FILES.search(_get(client, page).text)
    if link is None:
        raise IngestError([Problem(page, None, None, "download_link_not_found",
                                   "the publication page links no 'download all files' zip")])
    return _rebase(link.group(0), base_url)


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
