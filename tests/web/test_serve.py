"""`sf-benefits serve --workers 2` starts both workers and keeps them: no "Child process died"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sf_benefits.store import Store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.embedded_store_only
def test_two_workers_start_cleanly(web_store: Store, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    url = web_store.engine.url.render_as_string(hide_password=False)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "sf-benefits"), "serve", "--port", str(port),
             "--workers", "2", "--database-url", url, "--no-secure-cookies"],
            stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "SF_BENEFITS_SECRET_KEY": "serve-test-secret-key-long-enough",
                 "SF_BENEFITS_JOB_MODE": "thread"})
        try:
            deadline = time.monotonic() + 240
            while log.read_text(errors="replace").count("Application startup complete") < 2:
                assert process.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.5)
            for _ in range(6):
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
            time.sleep(8)  # past uvicorn's former 5 s health check, twice
        finally:
            process.terminate()
            process.wait(timeout=60)
    text = log.read_text(errors="replace")
    assert "died" not in text and "Traceback" not in text, text
