"""UTC offsets of an IANA time zone as vectorised numpy lookups.

``pyarrow.compute.local_timestamp`` costs ~20 ms for 200k rows because it resolves
every row through the tz database. A zone changes offset only a couple of times a
year, so we find those transitions once per (zone, year) with :mod:`zoneinfo`, cache
them, and turn "local time of every row" into a handful of vectorised comparisons.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from findata.core._errors import InvalidParameterError

I64 = npt.NDArray[np.int64]

MICROS_PER_SECOND = 1_000_000
MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND
_SECONDS_PER_DAY = 86_400
_MAX_BLOCKS_TO_FILL = 64
_MIN_YEAR = 2
_MAX_YEAR = 9998


def zone_info(timezone: str) -> zoneinfo.ZoneInfo:
    """The zone named ``timezone``, or an :class:`InvalidParameterError` naming it."""
    try:
        return _zone(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise InvalidParameterError(
            "timezone",
            f"unknown time zone {timezone!r}; expected an IANA name such as 'America/New_York'",
            value=timezone,
        ) from error


@functools.lru_cache(maxsize=256)
def _zone(timezone: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(timezone)


def _offset_seconds(zone: zoneinfo.ZoneInfo, epoch_seconds: int) -> int:
    offset = datetime.fromtimestamp(epoch_seconds, zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


@functools.lru_cache(maxsize=4096)
def _year_transitions(timezone: str, year: int) -> tuple[tuple[int, int], ...]:
    """``(utc_seconds, offset_seconds)`` for the offset at the start of UTC ``year`` and
    every change within it, found by daily probes refined by bisection to the second."""
    zone = _zone(timezone)
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    current = _offset_seconds(zone, start)
    changes = [(start, current)]
    probe = start
    while probe < end:
        following = min(probe + _SECONDS_PER_DAY, end)
        offset = _offset_seconds(zone, following)
        if offset != current:
            before, after = probe, following
            while after - before > 1:
                middle = (before + after) // 2
                if _offset_seconds(zone, middle) == current:
                    before = middle
                else:
                    after = middle
            changes.append((after, offset))
            current = offset
        probe = following
    return tuple(changes)


_MICROS_PER_AVERAGE_YEAR = 31_556_952 * MICROS_PER_SECOND
"""365.2425 days: close enough to pick the years to look up, with a year of margin."""


def _approximate_year(micros: int) -> int:
    return 1970 + micros // _MICROS_PER_AVERAGE_YEAR


@functools.lru_cache(maxsize=1024)
def _transitions(timezone: str, first_year: int, last_year: int) -> tuple[I64, I64]:
    starts: list[int] = []
    offsets: list[int] = []
    for year in range(first_year, last_year + 1):
        for start, offset in _year_transitions(timezone, year):
            if offsets and offsets[-1] == offset * MICROS_PER_SECOND:
                continue
            starts.append(start * MICROS_PER_SECOND)
            offsets.append(offset * MICROS_PER_SECOND)
    starts[0] = np.iinfo(np.int64).min
    return np.array(starts, dtype=np.int64), np.array(offsets, dtype=np.int64)


def offset_table(timezone: str, first_micros: int, last_micros: int) -> OffsetTable:
    """The offsets of ``timezone`` around the instants ``first_micros``..``last_micros``
    (with a year of margin either side, for buckets that begin before the first bar);
    cached, so repeated calls cost a dictionary lookup."""
    zone_info(timezone)
    # Instants outside the years zoneinfo can probe keep the offset at the nearest year's
    # edge (the zone's local mean time before year 2, its last rule after 9998).
    first_year = min(max(_MIN_YEAR, _approximate_year(first_micros) - 1), _MAX_YEAR)
    last_year = max(min(_MAX_YEAR, _approximate_year(last_micros) + 1), first_year)
    return _offset_table(timezone, first_year, last_year)


@functools.lru_cache(maxsize=1024)
def _offset_table(timezone: str, first_year: int, last_year: int) -> OffsetTable:
    return OffsetTable(*_transitions(timezone, first_year, last_year))


class OffsetTable:
    """The UTC offsets in force in a zone over a span of instants (microseconds):
    ``offsets[k]`` applies from ``starts[k]`` (``starts[0]`` is the dawn of time)."""

    __slots__ = ("dates_are_monotonic", "offsets", "starts")

    def __init__(self, starts: I64, offsets: I64) -> None:
        self.starts = starts
        self.offsets = offsets
        # False if setting a clock back ever re-enters an earlier date (a set-back across
        # midnight), which would make a local date step back in time.
        set_back = np.flatnonzero(np.diff(offsets) < 0) + 1
        before = starts[set_back] + offsets[set_back - 1]
        after = starts[set_back] + offsets[set_back]
        self.dates_are_monotonic = bool(
            np.all(after // MICROS_PER_DAY >= (before - 1) // MICROS_PER_DAY)
        )

    def _segments(
        self, utc_micros: I64, sorted_blocks: npt.NDArray[np.intp]
    ) -> list[tuple[int, int, int]]:
        """``(begin, stop, offset)``: the rows ``begin:stop`` all under ``offset``, from a
        binary search of each zone change in each time-sorted block."""
        segments: list[tuple[int, int, int]] = []
        ends = np.append(sorted_blocks[1:], len(utc_micros))
        for start, end in zip(sorted_blocks.tolist(), ends.tolist(), strict=True):
            # Rows where each zone period begins within this time-sorted block.
            cuts = (start + np.searchsorted(utc_micros[start:end], self.starts[1:])).tolist()
            for offset, begin, stop in zip(
                self.offsets.tolist(), [start, *cuts], [*cuts, end], strict=True
            ):
                if stop > begin:
                    segments.append((begin, stop, offset))
        return segments

    def offsets_at(self, utc_micros: I64, sorted_blocks: npt.NDArray[np.intp] | None = None) -> I64:
        """The offset in force at each instant, in microseconds (local = utc + offset).

        ``sorted_blocks`` (start rows of runs that are each sorted by time, such as the
        symbols of validated bars) turns the lookup into a few slice fills per run.
        """
        if len(self.starts) == 1:
            return np.full(len(utc_micros), self.offsets[0], dtype=np.int64)
        if sorted_blocks is None or len(sorted_blocks) > _MAX_BLOCKS_TO_FILL:
            return self.offsets[np.searchsorted(self.starts, utc_micros, side="right") - 1]
        result = np.empty(len(utc_micros), dtype=np.int64)
        for begin, stop, offset in self._segments(utc_micros, sorted_blocks):
            result[begin:stop] = offset
        return result

    def change_rows(
        self, utc_micros: I64, sorted_blocks: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.intp]:
        """Rows whose offset differs from the previous row's within a block: the first
        row after each change, found by a binary search per block and change instead
        of comparing every row (``sorted_blocks`` as in :meth:`offsets_at`)."""
        if len(self.starts) == 1 or len(utc_micros) < 2:
            return np.empty(0, dtype=np.intp)
        if len(sorted_blocks) > _MAX_BLOCKS_TO_FILL:
            offsets = self.offsets_at(utc_micros)
            rows = np.flatnonzero(offsets[1:] != offsets[:-1]) + 1
            return np.setdiff1d(rows, sorted_blocks, assume_unique=True).astype(np.intp)
        ends = np.append(sorted_blocks[1:], len(utc_micros))
        candidates = [
            start + np.searchsorted(utc_micros[start:end], self.starts[1:])
            for start, end in zip(sorted_blocks.tolist(), ends.tolist(), strict=True)
        ]
        rows = np.concatenate(candidates)
        block_ends = np.repeat(ends, len(self.starts) - 1)
        block_starts = np.repeat(sorted_blocks, len(self.starts) - 1)
        rows = np.unique(rows[(rows > block_starts) & (rows < block_ends)])
        moved = self.offsets_at(utc_micros[rows]) != self.offsets_at(utc_micros[rows - 1])
        changed: npt.NDArray[np.intp] = rows[moved].astype(np.intp)
        return changed

    def near_changes(
        self, utc_micros: I64, sorted_blocks: npt.NDArray[np.intp], width: int
    ) -> npt.NDArray[np.intp]:
        """Positions of the instants at most ``width`` - 1 microseconds after a change of
        offset (``sorted_blocks`` as in :meth:`offsets_at`): the only instants whose
        bucket can begin in another zone period than their own, so the only ones
        :meth:`bucket_starts` must resolve; for every other instant the bucket begins
        at its floored local time minus its own offset."""
        changes = self.starts[1:]
        if len(changes) == 0 or len(utc_micros) == 0:
            return np.empty(0, dtype=np.intp)
        if len(sorted_blocks) > _MAX_BLOCKS_TO_FILL:
            period = np.searchsorted(self.starts, utc_micros, side="right") - 1
            near = (period > 0) & (utc_micros - self.starts[period] < width)
            return np.flatnonzero(near).astype(np.intp)
        pieces: list[npt.NDArray[np.intp]] = []
        ends = np.append(sorted_blocks[1:], len(utc_micros))
        for start, end in zip(sorted_blocks.tolist(), ends.tolist(), strict=True):
            block = utc_micros[start:end]
            firsts = np.searchsorted(block, changes).tolist()
            afters = np.searchsorted(block, changes + width).tolist()
            pieces.extend(
                np.arange(start + first, start + after, dtype=np.intp)
                for first, after in zip(firsts, afters, strict=True)
                if after > first
            )
        return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.intp)

    def local(self, utc_micros: I64, sorted_blocks: npt.NDArray[np.intp] | None = None) -> I64:
        """Wall-clock time of each instant, as microseconds since the local epoch."""
        return self.shift(utc_micros, utc_micros, sorted_blocks, np.empty_like(utc_micros))

    def shift(
        self,
        values: I64,
        utc_micros: I64,
        sorted_blocks: npt.NDArray[np.intp] | None,
        out: I64,
        *,
        sign: int = 1,
    ) -> I64:
        """``values`` plus (``sign`` -1: minus) the offset in force at each instant of
        ``utc_micros``, into ``out`` (which may be ``values``). With ``sorted_blocks``
        (as in :meth:`offsets_at`) one addition of a constant per zone period and block,
        with no array of offsets; a zone with one offset (UTC) adds that constant."""
        if len(self.starts) == 1:
            return np.add(values, sign * int(self.offsets[0]), out=out)
        if sorted_blocks is None or len(sorted_blocks) > _MAX_BLOCKS_TO_FILL:
            offsets = self.offsets_at(utc_micros)
            return (
                np.add(values, offsets, out=out)
                if sign > 0
                else np.subtract(values, offsets, out=out)
            )
        for begin, stop, offset in self._segments(utc_micros, sorted_blocks):
            np.add(values[begin:stop], sign * offset, out=out[begin:stop])
        return out

    def bucket_starts(self, floored_local: I64, after_utc: I64, step: int) -> I64:
        """When the wall-clock bucket ``floored_local`` (a multiple of ``step``) holding the
        instant ``after_utc`` began: the latest instant not after it at which the clock
        showed a multiple of ``step`` or jumped past one.

        So an hour repeated by a clock set back is a bucket of its own, a bucket whose start
        was skipped by a clock set forward begins at the jump, and a clock set back into
        an earlier bucket starts a new bucket at the jump instead of reopening the old one:
        buckets are contiguous in time and their starts increase.
        """
        own_offset = self.offsets_at(after_utc)
        candidate = floored_local - own_offset
        candidate_offset = self.offsets_at(candidate)
        result = candidate.copy()
        moved = candidate_offset != own_offset
        if moved.any():
            earlier = floored_local[moved] - candidate_offset[moved]
            valid = self.offsets_at(earlier) == candidate_offset[moved]
            jump = self.starts[np.searchsorted(self.starts, candidate[moved], side="right")]
            result[moved] = np.where(valid, earlier, jump)
        period = np.searchsorted(self.starts, after_utc, side="right") - 1
        changed_at = self.starts[period]
        previous_offset = self.offsets[np.maximum(period - 1, 0)]
        jumped = (period > 0) & (
            (changed_at - 1 + previous_offset) // step != (changed_at + own_offset) // step
        )
        return np.where(jumped & (changed_at > result), changed_at, result)

    def first_instants_showing(self, local_micros: I64) -> I64:
        """The first instant at which the clock shows ``local_micros`` or later.

        Within the zone period k (from ``starts[k]``, offset ``offsets[k]``) that instant
        is ``max(starts[k], local - offsets[k])`` if it falls inside the period; the
        answer is the earliest over all periods. A skipped wall time resolves to the
        jump, like :meth:`bucket_starts`.
        """
        period_ends = np.append(self.starts[1:], np.iinfo(np.int64).max)
        candidates = np.maximum(self.starts[None, :], local_micros[:, None] - self.offsets[None, :])
        candidates = np.where(candidates < period_ends[None, :], candidates, np.iinfo(np.int64).max)
        first: I64 = candidates.min(axis=1)
        return first
