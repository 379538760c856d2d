"""The stores' in-process LRU: one data version at a time, bounded by rows."""

from __future__ import annotations

from findata.db._cache import VersionedCache


def test_given_entries_of_one_version_when_another_version_is_put_then_the_old_ones_go() -> None:
    # GIVEN two entries of version v1
    cache: VersionedCache[str] = VersionedCache(max_rows=100)
    cache.put("v1", "AAA", "aaa", 10)
    cache.put("v1", "BBB", "bbb", 10)

    # WHEN an entry of v2 is put
    cache.put("v2", "CCC", "ccc", 10)

    # THEN only v2's entry is there, and v1 is no longer served
    assert cache.version == "v2"
    assert cache.entries() == ("v2", [("CCC", "ccc", 10)])
    assert cache.get("v1", "AAA") is None


def test_given_a_full_cache_when_putting_then_the_least_recently_used_goes() -> None:
    # GIVEN a cache of 20 rows holding AAA then BBB, and AAA used since
    cache: VersionedCache[str] = VersionedCache(max_rows=20)
    cache.put("v1", "AAA", "aaa", 10)
    cache.put("v1", "BBB", "bbb", 10)
    assert cache.get("v1", "AAA") == "aaa"

    # WHEN a third entry of 10 rows is put
    cache.put("v1", "CCC", "ccc", 10)

    # THEN BBB was evicted; the rest are listed most recent first
    assert [key for key, _, _ in cache.entries()[1]] == ["CCC", "AAA"]


def test_an_entry_larger_than_the_bound_is_not_kept_and_an_empty_cache_has_no_version() -> None:
    # GIVEN an empty cache of 5 rows
    cache: VersionedCache[str] = VersionedCache(max_rows=5)
    assert cache.version is None

    # WHEN an entry of 6 rows is put, then one of 5, then the cache is cleared
    cache.put("v1", "BIG", "big", 6)
    version_after_big = cache.version
    cache.put("v1", "FIT", "fit", 5)
    version_after_fit = cache.version
    cache.clear()

    # THEN only the fitting entry made the cache hold a version
    assert version_after_big is None
    assert version_after_fit == "v1"
    assert cache.version is None
