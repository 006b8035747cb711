"""Tiles' values collected in raster order: joined in groups, so many small tiles hold few objects."""
from __future__ import annotations

import numpy as np

from xbragg.render.assemble import TileValues


def test_tile_values_keep_raster_order_across_joins():
    collector = TileValues(np)
    tiles = [np.arange(start, start + size, dtype=np.float64)
             for start, size in zip(range(0, 3000, 5), [5] * 600)]
    for tile in tiles:
        collector.append(tile)
    assert len(collector) == 600
    # 600 tiles of 5 pixels: two joined groups of 256 and 88 pending, never 600 separate arrays
    assert len(collector.joined) == 600 // TileValues.JOIN_EVERY
    assert len(collector.pending) == 600 % TileValues.JOIN_EVERY
    np.testing.assert_array_equal(collector.take(), np.arange(3000, dtype=np.float64))
    assert collector.joined == [] and collector.pending == []


def test_a_single_tile_is_returned_as_it_is():
    collector = TileValues(np)
    tile = np.ones(7)
    collector.append(tile)
    assert collector.take() is tile
