"""`data fetch` against a local HTTP server on 127.0.0.1, never the internet."""

from __future__ import annotations

import functools
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sf_benefits.ingest.errors import IngestError
from sf_benefits.ingest.fetch import fetch
from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store

RELEASE = "4e06e0e2-d705-462c-bb99-97afa166928c"
PAGE = ("https://explore-education-statistics.service.gov.uk/find-statistics/"
        "children-looked-after-in-england-including-adoptions")


@pytest.fixture
def mirror(tmp_path: Path, dfe_dir: Path) -> Iterator[tuple[str, Path]]:
    """A local server holding a publication page that links its release's all-files zip, the
    zip at the release's official path, and a manifest naming the page."""
    root = tmp_path / "www"
    (root / "find-statistics").mkdir(parents=True)
    (root / "find-statistics" / PAGE.rsplit("/", 1)[1]).write_text(
        '<h3><a href="https://content.explore-education-statistics.service.gov.uk/api/releases/'
        f'{RELEASE}/files" class="govuk-link">Download all data (zip)</a></h3>'
        '<a href="https://content.explore-education-statistics.service.gov.uk/api/releases/'
        f'{RELEASE}/files/0f0e0d0c-0b0a-0908-0706-050403020100">one file</a>')
    (root / "api" / "releases" / RELEASE).mkdir(parents=True)
    with zipfile.ZipFile(root / "api" / "releases" / RELEASE / "files", "w") as zipped:
        for path in dfe_dir.iterdir():
            zipped.write(path, f"data/{path.name}")
    manifest = tmp_path / "sources.yaml"
    manifest.write_text(yaml.safe_dump({"files": [{
        "name": "cla.zip", "publisher": "DfE", "description": "test", "page": PAGE}]}))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", manifest
    server.shutdown()


def test_fetch_downloads_unpacks_and_loads(mirror: tuple[str, Path], tmp_path: Path,
                                           store: Store) -> None:
    base_url, manifest = mirror
    target = tmp_path / "data"
    files = fetch(target, base_url=base_url, manifest=manifest)
    assert files[0].bytes > 1000 and files[0].url.endswith(f"/api/releases/{RELEASE}/files")
    assert (target / "cla" / "data" / "la_lookup.csv").exists()
    report = load_directory(store, target)
    assert report.local_authorities == 22


def test_failed_download_replaces_nothing(mirror: tuple[str, Path], tmp_path: Path) -> None:
    base_url, manifest = mirror
    target = tmp_path / "data"
    fetch(target, base_url=base_url, manifest=manifest)
    before = sorted(p.name for p in target.rglob("*"))
    data = yaml.safe_load(manifest.read_text())
    data["files"].append({"name": "missing.zip", "publisher": "DfE", "description": "test",
                          "url": "https://explore-education-statistics.service.gov.uk/nowhere"})
    manifest.write_text(yaml.safe_dump(data))
    with pytest.raises(IngestError) as exc:
        fetch(target, base_url=base_url, manifest=manifest)
    assert exc.value.problems[0].rule == "download_failed"
    assert sorted(p.name for p in target.rglob("*")) == before


def test_a_page_without_the_all_files_link_is_named(mirror: tuple[str, Path],
                                                    tmp_path: Path) -> None:
    base_url, manifest = mirror
    data = yaml.safe_load(manifest.read_text())
    data["files"][0]["page"] = "https://explore-education-statistics.service.gov.uk/api/releases"
    manifest.write_text(yaml.safe_dump(data))
    with pytest.raises(IngestError) as exc:
        fetch(tmp_path / "data", base_url=base_url, manifest=manifest)
    assert exc.value.problems[0].rule == "download_link_not_found"
    assert not (tmp_path / "data").exists()


@pytest.mark.shared_data
def test_fetch_mirrors_the_shared_data(shared_data: Path, tmp_path: Path) -> None:
    """Every published CSV in ../shared/data, served on 127.0.0.1, arrives byte for byte."""
    files = sorted(p for p in shared_data.rglob("*.csv") if "ssda903" not in p.parts)[:20]
    manifest = tmp_path / "sources.yaml"
    manifest.write_text(yaml.safe_dump({"files": [{
        "name": p.name, "publisher": "DfE", "description": "mirror",
        "url": f"https://explore-education-statistics.service.gov.uk/{p.relative_to(shared_data)}"}
        for p in files]}))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared_data))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        fetched = fetch(tmp_path / "data", base_url=f"http://127.0.0.1:{server.server_address[1]}",
                        manifest=manifest)
    finally:
        server.shutdown()
    assert [f.name for f in fetched] == [p.name for p in files]
    for path in files:
        assert (tmp_path / "data" / path.name).read_bytes() == path.read_bytes()
