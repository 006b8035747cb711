"""The experiment models: what is simulated, in SI units, one small frozen dataclass per thing.

They follow dxtbx's models (``cctbx/dxtbx``, ``src/dxtbx/model/``: ``Beam``, ``Detector``
of ``Panel``\\ s, ``Goniometer``, ``Scan``, ``Crystal`` with A = U B) so that an experiment
described in DIALS maps onto them one to one; the units are SI (metres, radians) where
dxtbx uses mm, Angstrom and degrees.  Front-ends build them: the nanoBragg flags
(:mod:`xbragg.setup`), and Python code directly.  docs/models.md has the diagram and the
map from each nanoBragg flag to the field it sets.
"""
from __future__ import annotations

from .beam import Beam, Sources
from .crystal import Crystal
from .detector import Detector, Panel, Sensor
from .goniometer import Goniometer, Scan

__all__ = ["Beam", "Sources", "Crystal", "Detector", "Panel", "Sensor", "Goniometer", "Scan"]
