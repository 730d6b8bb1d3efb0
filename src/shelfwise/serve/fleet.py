"""Which shelf each ``serve --workers N`` process serves, and waiting until every one serves a reload's.

The processes share a run folder (the supervisor's temporary directory)::

    target.json         the shelf a worker starting now loads: folder, its manifest digest (empty at
                        the start: the supervisor loads no shelf), generation
    target.lock         held (``flock``) while a reload reads target.json and writes the next
                        generation: two workers reloading at once get two generations, in order
    workers/<pid>.json  what worker <pid> serves (written, atomically, when it starts and at each swap)

A reload in one worker publishes a new target (generation + 1) and its own status, then the
supervisor replaces the others; each replacement reads the target and writes its status. The
worker that took ``POST /admin/reload`` then waits (:func:`wait_for_fleet`) until every live
worker's status shows the target's shelf at that generation or later. Live: a process whose
parent is this worker's parent (the supervisor), not a zombie; a stopped worker's file is ignored.
The HTTP port is never polled (the kernel picks which worker answers). The shelf is told apart
by the manifest digest (:func:`~shelfwise.snapshot.manifest.shelf_digest`), and a reload of an
unchanged folder by the generation: a reload that only re-reads ``--rules`` / ``--synonyms`` files
counts once every worker has loaded at least that generation. Nothing here knows about HTTP.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shelfwise.serve import examples as ex
from shelfwise.serve.examples import exemplified

try:
    import fcntl
except ImportError:  # not POSIX (Windows): the threads of this process only, see _exclusive
    fcntl = None  # type: ignore[assignment]

TARGET = "target.json"
TARGET_LOCK = "target.lock"
_THREADS = threading.Lock()  # without flock: the one lock there is
STATUS_DIR = "workers"
POLL_S = 0.1  # how often the waiting worker reads the status files
DEFAULT_WAIT_S = 30.0  # POST /admin/reload's wait for the other workers (a 2 GB shelf loads in ~5 s)
MAX_WAIT_S = 600.0


class ShelfMark(BaseModel):
    """A shelf as loaded by a worker: its ``folder``, manifest digest ``shelf_id`` ("" for an index
    folder from before shelves) and the ``generation`` of the reload it was loaded for (0: the start)."""

    folder: str
    shelf_id: str
    generation: int = 0

    def serves(self, target: ShelfMark) -> bool:
        """Whether a worker holding this mark serves ``target``: the same save, loaded for that
        reload or a later one."""
        return self.shelf_id == target.shelf_id and self.generation >= target.generation


class WorkerSwap(BaseModel):
    """One worker in a reload's answer."""

    model_config = ConfigDict(json_schema_extra=exemplified(ex.WORKER_SWAP))

    pid: int = Field(description="the worker's process id (/health: worker)")
    shelf_id: str = Field(description="manifest digest of the shelf it serves")
    generation: int = Field(description="the reload it loaded its shelf for (0: the server's start)")
    swapped: bool = Field(description="serves the reloaded shelf")


class FleetWait(BaseModel):
    """Whether every worker serves the reloaded shelf (``complete``), after how long, and each worker."""

    model_config = ConfigDict(json_schema_extra=exemplified(ex.FLEET))

    complete: bool = Field(description="every worker serves the reloaded shelf")
    waited_s: float = Field(description="seconds the answer waited for the workers")
    wait_s: float = Field(description="the most it would wait (the request's wait_s)")
    workers: list[WorkerSwap] = Field(description="each worker: its pid, the shelf it serves, and whether swapped")


def atomic_write(path: Path, text: str) -> None:
    """``text`` into ``path`` by rename, so that a reader sees the old content or the new, whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # one per writing thread
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block: another process,
    or another thread of this one (each opens the file itself, so each holds its own lock), waits
    for it. The lock goes with the process if it dies holding it. Without ``fcntl``, a lock of
    this process's threads."""
    if fcntl is None:
        with _THREADS:
            yield
        return
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def is_sibling(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) child of this process's parent: a fellow worker
    of this worker's supervisor. Without ``/proc``: whether the process exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return fields[0] != "Z" and int(fields[1]) == os.getppid()


@dataclass(frozen=True)
class RunDir:
    """The run folder the supervisor and its workers share. ``alive``: which worker pids count
    (default :func:`is_sibling`; tests pass their own)."""

    root: Path
    alive: Callable[[int], bool] = field(default=is_sibling, compare=False)

    @property
    def status_dir(self) -> Path:
        return self.root / STATUS_DIR

    def start(self, folder: Path) -> None:
        """The supervisor's start: the shelf every worker loads first (generation 0)."""
        self.status_dir.mkdir(parents=True, exist_ok=True)
        self.write_target(ShelfMark(folder=str(folder.resolve()), shelf_id=""))

    def target(self) -> ShelfMark:
        return ShelfMark.model_validate_json((self.root / TARGET).read_text(encoding="utf-8"))

    def write_target(self, mark: ShelfMark) -> None:
        atomic_write(self.root / TARGET, mark.model_dump_json())

    def next_target(self, folder: str, shelf_id: str) -> ShelfMark:
        """Publish ``folder`` (digest ``shelf_id``) as the shelf workers load from now on, one generation
        on: read and written under :data:`TARGET_LOCK`, so that two workers reloading at once (two
        ``POST /admin/reload``) get two generations, not one read twice, and the later one stays."""
        with _exclusive(self.root / TARGET_LOCK):
            try:
                generation = self.target().generation + 1
            except (OSError, ValidationError):
                generation = 1
            mark = ShelfMark(folder=folder, shelf_id=shelf_id, generation=generation)
            self.write_target(mark)
        return mark

    def report(self, pid: int, mark: ShelfMark) -> None:
        """Worker ``pid`` serves ``mark`` (written when it starts and at each swap)."""
        self.status_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.status_dir / f"{pid}.json", mark.model_dump_json())

    def forget(self, pid: int) -> None:
        """Worker ``pid`` has stopped (the supervisor's call)."""
        with contextlib.suppress(FileNotFoundError):
            (self.status_dir / f"{pid}.json").unlink()

    def serving(self) -> dict[int, ShelfMark]:
        """What each live worker that has reported serves, by pid."""
        out: dict[int, ShelfMark] = {}
        with contextlib.suppress(FileNotFoundError):
            for f in self.status_dir.glob("*.json"):
                if not f.stem.isdigit() or not self.alive(int(f.stem)):
                    continue
                try:
                    out[int(f.stem)] = ShelfMark.model_validate_json(f.read_text(encoding="utf-8"))
                except (OSError, ValidationError):
                    continue  # gone, or being replaced, between the listing and the read
        return out


def fleet_state(serving: dict[int, ShelfMark], target: ShelfMark) -> list[WorkerSwap]:
    """Each worker of ``serving``, by pid, and whether it serves ``target``."""
    return [
        WorkerSwap(pid=pid, shelf_id=m.shelf_id, generation=m.generation, swapped=m.serves(target))
        for pid, m in sorted(serving.items())
    ]


def wait_for_fleet(
    run: RunDir,
    target: ShelfMark,
    wait_s: float,
    *,
    poll_s: float = POLL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> FleetWait:
    """Read the workers' status every ``poll_s`` until each serves ``target`` or ``wait_s`` has
    passed (0: look once); the last reading, ``complete`` only when every worker had swapped."""
    t0 = clock()
    while True:
        workers = fleet_state(run.serving(), target)
        done = bool(workers) and all(w.swapped for w in workers)
        waited = clock() - t0
        if done or waited >= wait_s:
            return FleetWait(complete=done, waited_s=round(waited, 3), wait_s=wait_s, workers=workers)
        sleep(min(poll_s, wait_s - waited))
