"""DIALS experiment lists (``.expt``): the JSON dxtbx writes, read into xbragg's models and written from them.

No dxtbx is needed: the file is read with the standard library's :mod:`json` and checked
field by field.  The schema and every convention follow dxtbx (``cctbx/dxtbx``,
``src/dxtbx/model/``); docs/dials.md lists each one with the source it comes from.  In
short: dxtbx's beam ``direction`` points from the sample to the source (xbragg's
``Beam.direction`` is its negative); lengths are mm and wavelengths Angstrom (xbragg: m);
a panel's ``origin``/``fast_axis``/``slow_axis`` are local to its group in the detector
``hierarchy``; the goniometer turns the crystal by ``S R(phi) F`` (setting rotation S,
scan rotation R about the datum axis, fixed rotation F), so the lab-frame spindle axis
is ``S @ rotation_axis`` and the crystal's lab-frame A at phi = 0 is ``S @ F @ A``.

What a file holds that xbragg cannot simulate is either an :class:`InputError` (a
polychromatic beam, electrons or neutrons, non-square pixels, a time-of-flight scan,
a model given by file name) or a warning kept in :attr:`ExptEntry.warnings` (beam
divergence, scan-varying models, gain and pedestal, per-pixel offset maps, ...), never
dropped silently.
"""
from __future__ import annotations

from xbragg.io.expt.entry import DEFAULT_HALL_SYMBOL, ExptCrystal, ExptEntry
from xbragg.io.expt.read import read_experiment, read_experiment_list
from xbragg.io.expt.write import experiment_list_bytes, experiment_list_dict, export_warnings, write_experiment_list

__all__ = ["ExptCrystal", "ExptEntry", "read_experiment_list", "read_experiment", "experiment_list_bytes", "experiment_list_dict",
           "export_warnings", "write_experiment_list", "DEFAULT_HALL_SYMBOL"]
