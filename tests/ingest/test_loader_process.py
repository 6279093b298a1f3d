"""The load's parsing process: what it makes and every way it can end reach the loading process."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sf_benefits.ingest.errors import IngestError, Problem, fail
from sf_benefits.ingest.loader import ITEMS_AHEAD, parsed_in_child


def _numbers_then(error: BaseException | None, count: int = 2) -> Iterator[object]:
    """`count` numbers with the parsing process's id, then `error` raised if given."""
    for number in range(count):
        yield number, os.getpid()
    if error is not None:
        raise error


def _dies() -> Iterator[int]:
    yield 1
    os._exit(3)


def _endless() -> Iterator[int]:
    number = 0
    while True:
        yield number
        number += 1


def test_items_come_in_order_from_another_process() -> None:
    with parsed_in_child(_numbers_then, None, 3) as received:
        items = list(received)
    assert [number for number, _ in items] == [0, 1, 2]
    assert {pid for _, pid in items} != {os.getpid()}


def _large_items(tally: Path, count: int) -> Iterator[bytes]:
    """`count` items too large to wait in a pipe, each counted in `tally` as it is made."""
    for number in range(count):
        tally.write_text(str(number + 1))
        yield bytes(200_000)


def test_parsing_goes_on_while_the_loading_process_is_busy(tmp_path: Path) -> None:
    """The loading process opens the store and writes large datasets while the next are
    parsed: several items are made before the first is asked for."""
    tally = tmp_path / "made"
    with parsed_in_child(_large_items, tally, ITEMS_AHEAD) as items:
        deadline = time.monotonic() + 30
        while not (tally.exists() and tally.read_text() == str(ITEMS_AHEAD)):
            assert time.monotonic() < deadline, "the parsing process waited to be read"
            time.sleep(0.01)
        assert len(list(items)) == ITEMS_AHEAD


def test_bad_input_found_while_parsing_is_raised_with_its_problems() -> None:
    error = fail("a.csv", "not_a_number", "'x' is not a number", row=3, column="value")
    received: list[object] = []
    with pytest.raises(IngestError) as exc, parsed_in_child(_numbers_then, error) as items:
        received.extend(items)
    assert len(received) == 2
    assert exc.value.problems == [Problem("a.csv", 3, "value", "not_a_number",
                                          "'x' is not a number")]


def test_any_other_error_while_parsing_is_raised() -> None:
    with (pytest.raises(ValueError, match="unreadable"),
          parsed_in_child(_numbers_then, ValueError("unreadable")) as items):
        list(items)


def test_stopping_early_ends_the_parsing_process() -> None:
    with parsed_in_child(_endless) as items:
        assert [next(items), next(items)] == [0, 1]
    assert multiprocessing.active_children() == []


def test_a_parsing_process_that_dies_is_an_error_not_a_short_load() -> None:
    received: list[object] = []
    with pytest.raises(RuntimeError, match=r"exit code 3"), parsed_in_child(_dies) as items:
        received.extend(items)
    assert received == [1]


def test_leaving_before_reading_ends_the_parsing_process() -> None:
    with parsed_in_child(_endless):
        pass
    assert multiprocessing.active_children() == []


def test_the_parsing_process_needs_no_sqlalchemy() -> None:
    probe = ("import sys\nimport sf_benefits.ingest.loader\n"
             "print('sqlalchemy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
