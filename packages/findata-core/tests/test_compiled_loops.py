"""The Numba-compiled indicator loops: one compiled variant per loop, and a process that
cannot write any cache still computes (ADR 0004-indicator-loops-compiled-with-numba)."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core import caching

from findata.core import _loops, sma


def test_given_read_only_and_writable_arrays_when_computing_then_one_loop_serves_both() -> None:
    # GIVEN the same values in a writable and in a read-only array (as Arrow hands them out)
    writable = np.arange(50.0)
    read_only = writable.copy()
    read_only.flags.writeable = False
    # WHEN
    from_writable = sma(writable, 5)
    from_read_only = sma(read_only, 5)
    # THEN both ran the loop compiled at import, and nothing was compiled on the way
    np.testing.assert_array_equal(from_writable, from_read_only)
    assert len(_loops.sma.signatures) == 1  # type: ignore[attr-defined]


def test_given_no_writable_cache_location_when_compiling_a_loop_then_it_warns_and_still_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN Numba finds no place to write its cache (a read-only image without HOME)
    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])

    def double(values: _loops.F64) -> _loops.F64:
        return values * 2.0

    # WHEN
    with pytest.warns(RuntimeWarning, match="NUMBA_CACHE_DIR"):
        compiled = _loops._compiled()(double)
    result = compiled(np.array([1.0, 2.0]))
    # THEN
    np.testing.assert_array_equal(result, [2.0, 4.0])
