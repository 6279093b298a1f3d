"""Load a directory of published files into the store: parse and validate all, then write in one
transaction, so a bad file changes nothing and a reload replaces a dataset rather than doubling it."""

from __future__ import annotations

import gc
import hashlib
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sf_benefits.ingest.ees import read_ees
from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.ingest.history import read_history
from sf_benefits.ingest.tables import (
    LaRegister,
    boundary_changes,
    header_of,
    kind_of,
    merge_neighbour_models,
    read_lait,
    read_lookup,
    read_neighbours,
    read_population,
)
from sf_benefits.store.rows import DatasetRows, dataset_rows

if TYPE_CHECKING:
    from multiprocessing.connection import Connection as PipeEnd

    from sqlalchemy import Connection

    from sf_benefits.store import Store

Progress = Callable[[str, int, int], None]
SKIPPED_DIRECTORIES = {"ssda903", "history"}
"""Child-level returns are loaded by `ssda903`; `history` (the 2010-2017 releases) by its own reader."""


@dataclass
class LoadReport:
    """What a load read and wrote: files by kind, observations and LAs written, files skipped,
    and the store written to (its URL, without a password)."""

    files: dict[str, list[str]] = field(default_factory=dict)
    observations: int = 0
    local_authorities: int = 0
    neighbour_models: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    store: str = ""


def discover(directory: Path) -> list[Path]:
    """Every CSV/XLSX/Parquet file under `directory`, except EES metadata files and child-level returns."""
    if not directory.is_dir():
        raise IngestError([Problem(str(directory), None, None, "not_a_directory",
                                   "the data directory does not exist")])
    return sorted(
        p for p in directory.rglob("*")
        if p.suffix.lower() in {".csv", ".xlsx", ".parquet"} and not p.name.endswith(".meta.csv")
        and not SKIPPED_DIRECTORIES & {part.lower() for part in p.relative_to(directory).parts}
    )


def load_directory(store: Store | Callable[[], Store], directory: Path,
                   progress: Progress | None = None) -> LoadReport:
    """Parse every file under `directory` and replace their datasets in the store in one
    transaction, each written as soon as it is read (so only one file's rows are held at once)
    while a second process reads the next: a bad file rolls the whole load back. `store` may be
    a function opening it, called once parsing has begun (its imports then overlap parsing)."""
    _arrow_memory_from_malloc()
    paths = discover(directory)
    report = LoadReport()
    problems: list[Problem] = []
    kinds: dict[str, list[Path]] = {}
    for path in paths:
        try:
            kinds.setdefault(kind_of(header_of(path)), []).append(path)
        except IngestError as exc:
            problems.extend(exc.problems)
    if problems:
        raise IngestError(problems)
    report.skipped = [str(p) for p in kinds.pop("unknown", [])]
    report.files = {k: [str(p) for p in v] for k, v in kinds.items()}
    total = sum(len(v) for v in kinds.values())
    done = 0
    parsed: ParsedDirectory | None = None
    with parsed_in_child(_parsed, directory, kinds) as items:
        from sf_benefits.store.db import observations_replaced

        if callable(store):
            store = store()
        report.store = store.url
        with store.transaction() as conn, observations_replaced(conn) as write_observations:
            for item in items:
                if isinstance(item, str):
                    done += 1
                    if progress:
                        progress(item, done, total)
                elif isinstance(item, DatasetRows):
                    write_observations(item)
                elif isinstance(item, ParsedDirectory):
                    parsed = item
            assert parsed is not None
            if parsed.problems:
                raise IngestError(parsed.problems)
            _write(conn, parsed.register, parsed.loads, parsed.neighbours, parsed.changes)
    if parsed.history_files is not None:
        report.files["history"] = parsed.history_files
    report.skipped += parsed.history_skipped
    report.observations = sum(load.rows for load in parsed.loads)
    report.local_authorities = len(parsed.register)
    report.neighbour_models = sorted(parsed.neighbours["model"].unique())
    return report


@dataclass(frozen=True)
class DatasetLoad:
    """The record of one dataset read: its name, file, rows and the file's checksum."""

    dataset: str
    source_file: str
    rows: int
    sha256: str


@dataclass
class ParsedDirectory:
    """What a directory's files give besides observations: the problems found (none: the rest
    is complete), the LA register, boundary changes, neighbour models and each dataset read."""

    problems: list[Problem]
    register: pd.DataFrame = field(default_factory=pd.DataFrame)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    neighbours: pd.DataFrame = field(default_factory=pd.DataFrame)
    loads: list[DatasetLoad] = field(default_factory=list)
    history_files: list[str] | None = None
    history_skipped: list[str] = field(default_factory=list)


def _parsed(directory: Path, kinds: dict[str, list[Path]]
            ) -> Iterator[str | DatasetRows | ParsedDirectory]:
    """Read and check every file of `kinds`, yielding each file's name once it is read, each
    dataset's rows ready to write while no problem is found, and last a `ParsedDirectory`.
    Every file is read even after a problem, so that all problems are reported at once."""
    problems: list[Problem] = []
    lookups = []
    for path in kinds.get("lookup", []):
        try:
            lookups.append(read_lookup(path))
        except IngestError as exc:
            problems.extend(exc.problems)
        yield path.name
    changes = boundary_changes()
    gss_lookups = [lookup for lookup in lookups if lookup["la_code"].notna().any()]
    old_codes = {str(old): str(code) for lookup in gss_lookups for old, code in
                 zip(lookup["old_la_code"], lookup["la_code"], strict=True) if old}
    known = (set(pd.concat(gss_lookups)["la_code"]) | set(changes["predecessor_code"])
             | set(changes["successor_code"])) if gss_lookups else None
    if problems:
        yield ParsedDirectory(problems)
        return
    loads: list[DatasetLoad] = []

    def kept(dataset: str, source: str, frame: pd.DataFrame) -> list[DatasetRows]:
        """A parsed dataset's rows to write, unless the load is already refused."""
        if problems:
            loads.append(DatasetLoad(dataset, source, len(frame), ""))
            return []
        loads.append(DatasetLoad(dataset, source, len(frame),
                                 hashlib.sha256(Path(source).read_bytes()).hexdigest()))
        return [dataset_rows(dataset, frame)]

    seen_las = []
    for path in kinds.get("ees", []):
        try:
            table = read_ees(path, known, old_codes)
        except IngestError as exc:
            problems.extend(exc.problems)
        else:
            seen_las.append(table.local_authorities)
            yield from kept(table.dataset, table.source_file, table.observations)
        yield path.name
    parsed = ParsedDirectory(problems, changes=changes, loads=loads)
    if (directory / "history").is_dir():
        try:
            current = {str(old): str(code) for las in seen_las for old, code in zip(
                las.get("old_la_code", []), las["la_code"], strict=False)
                if isinstance(old, str) and old}
            releases, unread = read_history(directory / "history", current | old_codes)
            for table in releases:
                seen_las.append(table.local_authorities)
                yield from kept(table.dataset, table.source_file, table.observations)
            parsed.history_files = [t.source_file for t in releases]
            parsed.history_skipped = [str(p) for p in unread]
        except IngestError as exc:
            problems.extend(exc.problems)
    if problems:
        yield parsed
        return

    register = _la_register(lookups, seen_las)
    neighbour_frames = []
    for kind, reader in (("population", read_population), ("lait", read_lait),
                         ("neighbours", read_neighbours)):
        for path in kinds.get(kind, []):
            try:
                frame = reader(path) if kind == "population" else reader(path, register)  # type: ignore[call-arg]
            except IngestError as exc:
                problems.extend(exc.problems)
            else:
                if kind == "neighbours":
                    neighbour_frames.append(frame)
                else:
                    yield from kept(path.stem, str(path), frame)
            yield path.name
    names = [load.dataset for load in loads]
    problems += [Problem(load.source_file, None, None, "duplicate_dataset",
                         f"another file is also named '{load.dataset}'")
                 for load in loads if names.count(load.dataset) > 1]
    if not problems:
        parsed.register = register.frame
        parsed.neighbours = merge_neighbour_models(neighbour_frames)
    yield parsed


@contextmanager
def parsed_in_child(produce: Callable[..., Iterator[object]], *args: object
                    ) -> Iterator[Iterator[object]]:
    """The items of `produce(*args)`, made in a process forked for it at once (where the platform
    forks): parsing there holds another interpreter lock, so it runs on a second core while this
    process writes what came before. A thread here takes up to `ITEMS_AHEAD` items off the pipe,
    so that parsing goes on while this process is busy (opening the store, writing a large
    dataset). Its errors are raised here; leaving the block early ends it. The objects imported
    so far are kept out of the garbage collector meanwhile, so that neither process copies their
    pages by scanning them."""
    import multiprocessing
    import queue
    import threading

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        yield produce(*args)
        return
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_send_items, args=(send, produce, args), daemon=True,
                            name="sf-benefits-parser")
    inbox: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=ITEMS_AHEAD)
    stopped = threading.Event()

    def take_off_pipe() -> None:
        while not stopped.is_set():
            try:
                message = receive.recv()
            except (EOFError, OSError):
                message = ("ended", None)
            while not stopped.is_set():
                try:
                    inbox.put(message, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if message[0] != "item":
                return

    reader = threading.Thread(target=take_off_pipe, name="sf-benefits-parser-pipe", daemon=True)
    ended = False

    def received() -> Iterator[object]:
        nonlocal ended
        while True:
            kind, payload = inbox.get()
            ended = kind != "item"
            if kind == "item":
                yield payload
            elif kind == "done":
                return
            elif kind == "problems":
                raise IngestError(payload)  # type: ignore[arg-type]
            elif kind == "ended":
                child.join()
                raise RuntimeError("the parsing process ended early (exit code "
                                   f"{child.exitcode})")
            else:
                raise payload  # type: ignore[misc]

    gc.freeze()
    try:
        child.start()
        send.close()
        reader.start()
        yield received()
    finally:
        stopped.set()
        if child.pid is not None:
            if not ended:
                child.kill()
            child.join()
        if reader.ident is not None:
            reader.join()
        receive.close()
        gc.unfreeze()


ITEMS_AHEAD = 8
"""Items taken off the parsing process's pipe before this process asks for them: parsing goes on
meanwhile, and at most this many datasets wait in memory."""


def _send_items(send: PipeEnd, produce: Callable[..., Iterator[object]],
                args: tuple[object, ...]) -> None:
    """Run in the forked process: send each item `produce(*args)` gives, then "done", or the
    error that ended it."""
    try:
        for item in produce(*args):
            send.send(("item", item))
    except IngestError as exc:
        send.send(("problems", exc.problems))
    except BaseException as exc:  # noqa: BLE001 - every error is the caller's to raise
        try:
            send.send(("error", exc))
        except Exception:  # noqa: BLE001 - an error that does not pickle is sent as text
            send.send(("error", RuntimeError("".join(traceback.format_exception(exc)))))
    else:
        send.send(("done", None))
    finally:
        send.close()


def _arrow_memory_from_malloc() -> None:
    """Arrow's buffers (Parquet columns, parsed values) from the C allocator, whose freed memory
    pandas reuses, rather than Arrow's own mimalloc pool, which keeps it: 30-40 MB less at peak."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def _la_register(lookups: list[pd.DataFrame], from_files: list[pd.DataFrame]) -> LaRegister:
    """Every LA a lookup or a data file names (former LAs such as Northamptonshire included), with
    the years each is seen in the data. A lookup's name wins; the DfE files fill what it lacks
    (3-digit code, region); a list without GSS codes adds names and 3-digit codes by matching its
    rows to known LAs. Every name and code any file gives an LA resolves to it."""
    attributes = ["old_la_code", "la_name", "region_code", "region_name"]
    seen = (pd.concat(from_files, ignore_index=True) if from_files
            else pd.DataFrame(columns=["la_code", "first_year", "last_year"]))
    for col in attributes:
        if col not in seen.columns:
            seen[col] = None
    seen = seen.replace("", None)
    gss = [lookup for lookup in lookups if lookup["la_code"].notna().any()]
    listed = (pd.concat(gss, ignore_index=True).replace("", None).drop_duplicates(
        "la_code", keep="last").set_index("la_code")[attributes] if gss
              else pd.DataFrame(columns=attributes))
    from_data = seen.sort_values("last_year", kind="stable").groupby("la_code")[attributes].last()
    frame = listed.combine_first(from_data)
    years = seen.groupby("la_code").agg(first_year=("first_year", "min"),
                                        last_year=("last_year", "max"))
    frame = frame.join(years).rename_axis("la_code").reset_index()
    aliases = {str(k): str(c) for col in ("la_name", "old_la_code")
               for k, c in zip(seen[col], seen["la_code"], strict=True) if k}
    register = LaRegister(frame.assign(la_name=frame["la_name"].fillna(frame["la_code"])), aliases)
    for lookup in (lookup for lookup in lookups if lookup["la_code"].isna().all()):
        for old, name in zip(lookup["old_la_code"], lookup["la_name"], strict=True):
            code = register.resolve(name) or register.resolve(old)
            if code is None:
                continue
            aliases[name], aliases[old] = code, code
            missing = frame["la_code"].eq(code) & frame["old_la_code"].isna()
            frame.loc[missing, "old_la_code"] = old
    frame["la_name"] = frame["la_name"].fillna(frame["la_code"])
    return LaRegister(frame[["la_code", *attributes, "first_year", "last_year"]], aliases)


def _write(conn: Connection, las: pd.DataFrame, loads: list[DatasetLoad],
           neighbours: pd.DataFrame, changes: pd.DataFrame) -> None:
    """Replace the LA register, boundary changes, neighbour models and the record of each
    dataset loaded (file, rows, checksum), in the load's transaction."""
    from sqlalchemy import delete, insert

    from sf_benefits.store.db import bulk_insert
    from sf_benefits.store.schema import (
        boundary_change,
        data_load,
        local_authority,
        statistical_neighbour,
    )

    now = datetime.now(UTC)
    if not las.empty:
        conn.execute(delete(local_authority))
        bulk_insert(conn, local_authority, las)
    conn.execute(delete(boundary_change))
    bulk_insert(conn, boundary_change, changes)
    for model in neighbours["model"].unique():
        conn.execute(delete(statistical_neighbour).where(statistical_neighbour.c.model == model))
    bulk_insert(conn, statistical_neighbour, neighbours)
    if not loads:
        return
    conn.execute(delete(data_load).where(data_load.c.dataset.in_([load.dataset for load in loads])))
    conn.execute(insert(data_load), [{
        "dataset": load.dataset, "source_file": load.source_file, "rows": load.rows,
        "loaded_at": now, "sha256": load.sha256} for load in loads])
