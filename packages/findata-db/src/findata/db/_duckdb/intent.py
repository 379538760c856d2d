"""Write intents: ``<file>.writing`` names the process that is about to write the file.

DuckDB lets no process read a file while another writes it, nor write it while another
reads it. A writer says so in this side file before it asks for the file, and readers
that hold the file let go of it within one poll (ADR 0011). The side file lives from
before the writer's first attempt until after it published the new data version, so
one left behind by a killed writer (naming a dead process) also tells readers that the
published version may lag what the file holds.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger(__name__)


class Announcement(NamedTuple):
    """What ``<file>.writing`` says now."""

    text: str
    alive: bool
    """Whether the process it names may still write (unreadable content counts as alive)."""
    identity: tuple[int, int, str]
    """(inode, mtime in ns, text): every new announcement has its own."""


def intent_path(path: str) -> Path:
    return Path(f"{path}.writing")


def read_announcement(path: str) -> Announcement | None:
    """The announcement of a write of ``path``; ``None`` when no process announced one.

    A missing side file costs one failed ``open``.
    """
    try:
        descriptor = os.open(intent_path(path), os.O_RDONLY)
    except OSError:  # missing (no writer) or unreadable
        return None
    try:
        status = os.fstat(descriptor)
        text = os.read(descriptor, 64).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return Announcement(text, _alive(text), (status.st_ino, status.st_mtime_ns, text))


def writer_waiting(path: str) -> bool:
    """Whether a live process announced that it wants to write ``path``.

    One left by a killed writer is ignored, so it cannot pin readers to per-read
    attaching forever.
    """
    announcement = read_announcement(path)
    return announcement is not None and announcement.alive


def _alive(text: str) -> bool:
    try:
        pid = int(text or "0")
    except ValueError:
        return True  # not ours: written by a foreign tool, or being written by one
    if pid <= 0 or os.name != "posix":
        return True  # (os.kill would terminate the process on Windows, not probe it)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    return True


@contextlib.contextmanager
def announce_write(path: str) -> Iterator[Callable[[], None]]:
    """Announce a write of ``path`` (our pid) until the block ends.

    Yields ``renew()``, called on every retry: if another writer removed the file
    when it finished, or a killed writer left its dead pid in it, ours is there
    within one backoff step, so readers that keep reading cannot starve a writer.
    The file is replaced atomically: a reader never sees it half written, and a kill
    at any point leaves either no announcement or a whole one.
    """
    intent = intent_path(path)
    token = str(os.getpid())

    def renew() -> None:
        current = read_announcement(path)
        # Ours unless another live writer's: a killed writer's pid is replaced.
        if current is not None and (current.text == token or (current.text and current.alive)):
            return
        scratch = intent.with_name(f"{intent.name}.{token}.tmp")
        try:
            scratch.write_text(token, encoding="ascii")
            os.replace(scratch, intent)
        except OSError as error:  # read-only folder: writers still get in at idle
            logger.debug("cannot announce a write of %s: %s", path, error)
            with contextlib.suppress(OSError):
                scratch.unlink(missing_ok=True)

    renew()
    try:
        yield renew
    finally:
        with contextlib.suppress(OSError):
            if intent.read_text(encoding="ascii") == token:
                intent.unlink()
