"""The files of a series: one set per frame, named from the output flags, written atomically.

``-floatfile sweep.bin`` gives ``sweep_00001.bin``, ``sweep_00002.bin``, ...: the frame
number from 1, five digits, before the extension (the image template DIALS expects:
``sweep_#####.bin``).  A frame's files are written as one :class:`~xbragg.io.atomic.OutputBatch`
(temporary names, renamed when all are complete), in the formats the reference writes
(:mod:`xbragg.outputs`): raw float, SMV integer, miniCBF of the integer image, SMV Poisson
noise, PGM.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from ..export import experiment_cbf_bytes
from ..io.atomic import OutputBatch
from ..io.pgm import pgm_bytes
from ..io.rawfloat import float_image_bytes
from ..io.smv import smv_bytes
from ..outputs import SMV_SATURATION, auto_int_scale, auto_pgm_scale, int_image, pgm_image, smv_header_lines
from ..setup.experiment import Experiment
from ..setup.random_numbers import Ran1, ShuffleTable, noise_image
from ..stats import image_stats
from .plan import FrameSpec

__all__ = ["FRAME_FLAGS", "FrameFormats", "frame_path", "frame_file_bytes", "frame_noise", "write_frame",
           "sha256_of_file"]

#: the per-frame output flags, in the order their files are written
FRAME_FLAGS = ("-floatfile", "-intfile", "-cbf", "-noisefile", "-pgmfile")


def frame_path(template: str, number: int) -> str:
    """``template`` with ``_NNNNN`` (``number``, five digits) before its extension."""
    root, ext = os.path.splitext(template)
    return f"{root}_{number:05d}{ext}"


@dataclass(frozen=True)
class FrameFormats:
    """Which files each frame gets: a name template per output flag (``None``: not written),
    the integer images' settings (``-scale``, ``-pgmscale``, ``-adc``; <= 0: automatic;
    ``--smv-adc-offset``) and the noise seed of frames whose plan entry has none (``-seed``)."""

    floatfile: str | None = None
    intfile: str | None = None
    cbffile: str | None = None
    noisefile: str | None = None
    pgmfile: str | None = None
    scale: float = 0.0
    pgmscale: float = 0.0
    adc: float = 40.0
    seed: int = 1
    smv_adc_offset: bool = False

    def templates(self) -> dict[str, str]:
        """``{flag: template}`` of the outputs asked for."""
        named = zip(FRAME_FLAGS, (self.floatfile, self.intfile, self.cbffile, self.noisefile, self.pgmfile))
        return {flag: path for flag, path in named if path is not None}

    def paths(self, spec: FrameSpec) -> dict[str, str]:
        """``{flag: path}`` of frame ``spec``'s files."""
        return {flag: frame_path(t, spec.number) for flag, t in self.templates().items()}


def frame_noise(exp: Experiment, spec: FrameSpec, image32: np.ndarray, formats: FrameFormats) -> np.ndarray:
    """Frame ``spec``'s Poisson noise image (uint16), as a single run with its ``-seed`` draws it."""
    seed = spec.noise_seed if spec.noise_seed is not None else formats.seed
    gen = Ran1(-seed, ShuffleTable.from_snapshot(exp.random_table))
    return noise_image(image32, exp.roi_bounds, formats.adc, gen)[0]


def frame_file_bytes(exp: Experiment, spec: FrameSpec, image32: np.ndarray, formats: FrameFormats,
                     noisy: np.ndarray | None = None) -> dict[str, bytes]:
    """``{flag: bytes}`` of frame ``spec``'s files, as a single run would write them.

    ``exp`` is the frame's experiment (:func:`~xbragg.series.frame.frame_experiment`):
    the SMV and CBF headers carry its start angle, and the noise continues from its random
    table; ``noisy``: its noise image when already drawn (:func:`frame_noise`).
    """
    out: dict[str, bytes] = {}
    roi = exp.roi_bounds
    adc_offset = formats.adc if formats.smv_adc_offset else None
    if formats.floatfile is not None:
        out["-floatfile"] = float_image_bytes(image32)
    if formats.intfile is not None or formats.cbffile is not None or formats.pgmfile is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            stats = image_stats(image32, roi, exp.mask, pixel_size_m=exp.panel.pixel_size_m,
                                oversample=exp.oversample)
        scale = auto_int_scale(formats.scale, stats.max_I)
        if formats.intfile is not None or formats.cbffile is not None:
            ints = int_image(image32, roi, scale, formats.adc)
            if formats.intfile is not None:
                out["-intfile"] = b"".join(smv_bytes(ints, smv_header_lines(exp), adc_offset=adc_offset))
            if formats.cbffile is not None:
                out["-cbf"] = experiment_cbf_bytes(ints, exp, saturation=SMV_SATURATION)
    if formats.noisefile is not None:
        noisy = frame_noise(exp, spec, image32, formats) if noisy is None else noisy
        out["-noisefile"] = b"".join(smv_bytes(noisy, smv_header_lines(exp, noise=True), adc_offset=adc_offset))
    if formats.pgmfile is not None:
        pgm_scale = auto_pgm_scale(formats.pgmscale, scale, stats.rmsd)
        out["-pgmfile"] = b"".join(pgm_bytes(pgm_image(image32, roi, pgm_scale), pgm_scale))
    return out


def write_frame(exp: Experiment, spec: FrameSpec, image32: np.ndarray, formats: FrameFormats,
                noisy: np.ndarray | None = None) -> dict[str, dict]:
    """Write frame ``spec``'s files together (all or none); ``{flag: {"path", "sha256"}}``."""
    paths = formats.paths(spec)
    contents = frame_file_bytes(exp, spec, image32, formats, noisy)
    with OutputBatch() as batch:
        for flag, data in contents.items():
            batch.add(paths[flag], data, flag=flag)
        batch.commit()
    return {flag: {"path": paths[flag], "sha256": hashlib.sha256(data).hexdigest()}
            for flag, data in contents.items()}


def sha256_of_file(path: str) -> str | None:
    """SHA-256 (hex) of the file at ``path``; ``None`` when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()
