"""The manifest of a series: one JSON object per line, a header then one line per finished frame.

The header (``"type": "series"``) holds the plan's digest and seeds; a frame line
(``"type": "frame"``) its number, seeds, orientation (quaternion and U), spindle range,
files with their SHA-256, render seconds and the worker.  A frame's line is appended
after its files are renamed into place, so a line names only complete files; a line
cut short (a run killed while appending) is not valid JSON and is ignored.  A run
starts by rewriting the manifest with the frames it keeps and ends by rewriting it in
frame order, each frame once (both atomically).

Resuming: a frame is done when the manifest of the same plan (same digest) lists it
and every file it names exists with the checksum written there.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from ..constants import RTD
from ..io.atomic import atomic_write_bytes
from ..setup.experiment import Experiment
from .files import sha256_of_file
from .frame import FrameImage
from .orientations import quaternion_matrix
from .plan import FrameSpec, SeriesPlan

__all__ = ["Manifest", "manifest_path", "frame_entry"]


def manifest_path(template: str) -> str:
    """The default manifest beside the first output: ``sweep.bin`` -> ``sweep_manifest.jsonl``."""
    root, _ = os.path.splitext(template)
    return f"{root}_manifest.jsonl"


def frame_entry(frame_exp: Experiment, spec: FrameSpec, image: FrameImage, files: dict) -> dict:
    """The manifest line of a rendered frame (``frame_exp``: its experiment)."""
    scan = frame_exp.scan
    entry = {"type": "frame", "frame": spec.number, "phi_start_deg": spec.phi_start_deg,
             "phi_end_deg": spec.phi_start_deg + scan.osc_rad * RTD, "phisteps": scan.phisteps,
             "noise_seed": spec.noise_seed, "mosaic_seed": spec.mosaic_seed, "fluence_scale": spec.fluence_scale,
             "quaternion": None if spec.quaternion is None else list(spec.quaternion),
             "rotation": None if spec.quaternion is None else quaternion_matrix(spec.quaternion).tolist(),
             "U": np.asarray(frame_exp.crystal.U).tolist(), "files": files,
             "render_seconds": round(image.seconds, 6), "worker": image.worker}
    return entry


def _header(plan: SeriesPlan, command: list[str] | None) -> dict:
    return {"type": "series", "digest": plan.digest, "kind": plan.kind, "frames": len(plan),
            "osc_deg": plan.osc_deg, "orientation_seed": plan.orientation_seed, "noise_seed": plan.noise_seed,
            "mosaic_seed": plan.mosaic_seed, "fluence_jitter": plan.fluence_jitter, "command": command}


def _read_lines(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue            # a line cut short by a killed run
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _files_intact(files: dict) -> bool:
    return bool(files) and all(sha256_of_file(f["path"]) == f["sha256"] for f in files.values())


@dataclass
class Manifest:
    """The manifest file of ``plan`` at ``path``; ``entries``: frame number -> its line."""

    path: str
    plan: SeriesPlan
    command: list[str] | None = None
    entries: dict[int, dict] = field(default_factory=dict)
    extra: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def resume(cls, path: str, plan: SeriesPlan, command: list[str] | None = None,
               expected_flags: tuple[str, ...] = ()) -> Manifest:
        """The frames of ``path`` still valid for ``plan``: same digest, every file present and intact,
        with a file for each of ``expected_flags``; then the manifest is rewritten with those alone."""
        rows = _read_lines(path)
        header = next((r for r in rows if r.get("type") == "series"), None)
        manifest = cls(path, plan, command)
        if header is not None and header.get("digest") == plan.digest:
            for row in rows:
                if row.get("type") == "frame" and isinstance(row.get("frame"), int) \
                        and 1 <= row["frame"] <= len(plan):
                    files = row.get("files") or {}
                    if set(expected_flags) <= set(files) and _files_intact(files):
                        manifest.entries[row["frame"]] = row
                elif row.get("type") == "output" and _files_intact({"file": row}):
                    manifest.extra[row["flag"]] = row
        manifest.rewrite()
        return manifest

    def done(self, spec: FrameSpec) -> bool:
        """Whether frame ``spec`` is already written."""
        return spec.number in self.entries

    def add(self, entry: dict) -> None:
        """Record a finished frame: appended as one line (a single write)."""
        self.entries[entry["frame"]] = entry
        self._append(entry)

    def add_output(self, flag: str, path: str, sha256: str) -> None:
        """Record a series-wide output (the NeXus file)."""
        row = {"type": "output", "flag": flag, "path": path, "sha256": sha256}
        self.extra[flag] = row
        self._append(row)

    def _append(self, row: dict) -> None:
        line = (json.dumps(row, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def rewrite(self) -> None:
        """Write the header, the frames in order and the series-wide outputs, atomically."""
        rows = [_header(self.plan, self.command), *(self.entries[n] for n in sorted(self.entries)),
                *self.extra.values()]
        atomic_write_bytes(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode(),
                           flag="--manifest")
