"""ForkPool: results in order, errors carried back, no worker left behind."""
from __future__ import annotations

import os
import signal
import sys

import pytest

from xbragg.workers import ForkPool, WorkerError

from processes import live_children

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers: Linux only")


def _children() -> set[int]:
    return live_children(os.getpid())


def test_results_come_back_in_order_and_workers_are_reaped():
    before = _children()
    offset = 1000                        # inherited by the fork, not sent
    with ForkPool(lambda k: (k + offset, os.getpid()), 3) as pool:
        results = list(pool.map(range(50)))
    assert [r[0] for r in results] == [k + offset for k in range(50)]
    assert len({r[1] for r in results}) == 3 and os.getpid() not in {r[1] for r in results}
    assert _children() == before


def test_an_exception_in_a_worker_is_raised_with_its_traceback():
    def fn(k):
        if k == 7:
            raise ValueError("tile 7 is bad")
        return k

    with ForkPool(fn, 2) as pool:
        with pytest.raises(ValueError, match="tile 7 is bad") as info:
            list(pool.map(range(20)))
    assert isinstance(info.value.__cause__, WorkerError)
    assert "tile 7 is bad" in str(info.value.__cause__) and "Traceback" in str(info.value.__cause__)


def test_a_worker_that_dies_is_reported():
    def fn(k):
        if k == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return k

    with ForkPool(fn, 2) as pool:
        with pytest.raises(RuntimeError, match="ended unexpectedly"):
            list(pool.map(range(10)))


def test_leaving_early_kills_the_workers():
    before = _children()
    with ForkPool(lambda k: k, 2) as pool:
        results = pool.map(range(100))
        assert next(results) == 0
        assert len(_children() - before) == 2
    assert _children() == before


def test_a_map_closed_early_leaves_the_pool_ready_for_the_next():
    # the render's pre-pass stops at its first hit, then the main pass maps on the same pool
    with ForkPool(lambda k: k * k, 2) as pool:
        first = pool.map(range(50))
        assert [next(first) for _ in range(3)] == [0, 1, 4]
        first.close()
        assert list(pool.map(range(10, 20))) == [k * k for k in range(10, 20)]
