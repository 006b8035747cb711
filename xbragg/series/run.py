"""A series from start to files: plan, resume from the manifest, render, write, report."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..export import write_nexus
from ..io.atomic import check_writable
from ..outputs import SMV_SATURATION
from ..setup.experiment import Experiment
from .execute import ClusterSettings, FrameFailed, run_frames
from .files import FrameFormats, frame_noise, sha256_of_file, write_frame
from .frame import FrameImage, RenderSettings, frame_experiment, render_frame
from .manifest import Manifest, frame_entry, manifest_path
from .nexus_stack import FrameStack
from .plan import FrameSpec, SeriesPlan

__all__ = ["Series", "SeriesReport"]


@dataclass
class SeriesReport:
    """What a run did: frames ``rendered`` and ``skipped`` (already written), ``failed`` (numbers)."""

    rendered: int = 0
    skipped: int = 0
    failed: list[int] = field(default_factory=list)
    render_seconds: float = 0.0


@dataclass
class Series:
    """A planned series over one shared experiment: render any frame alone, or run them all to files.

    ``formats``: the per-frame files (none: :meth:`run` only hands images to its callback);
    ``nexus``: one NeXus file for the whole series, of the float images or, with
    ``nexus_counts``, of the noise images (int32); ``manifest``: its path (default beside
    the first output, see :func:`~xbragg.series.manifest.manifest_path`).
    """

    experiment: Experiment
    plan: SeriesPlan
    settings: RenderSettings = field(default_factory=RenderSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    formats: FrameFormats = field(default_factory=FrameFormats)
    nexus: str | None = None
    nexus_counts: bool = False
    manifest: str | None = None
    command: list[str] | None = None

    def frame_experiment(self, index: int) -> Experiment:
        """The experiment of frame ``index`` (from 0)."""
        return frame_experiment(self.experiment, self.plan.frames[index])

    def render(self, index: int) -> np.ndarray:
        """Frame ``index`` (from 0) rendered alone here: (slow, fast) float32 photons."""
        return render_frame(self.experiment, self.plan.frames[index], self.settings).image

    def _manifest_path(self) -> str | None:
        if self.manifest is not None:
            return self.manifest
        first = next(iter(self.formats.templates().values()), self.nexus)
        return None if first is None else manifest_path(first)

    def check_outputs(self) -> None:
        """Fail before rendering when a frame file, the NeXus file or the manifest cannot be written."""
        for flag, template in self.formats.templates().items():
            check_writable(self.formats.paths(self.plan.frames[0])[flag], flag=flag)
        if self.nexus is not None:
            check_writable(self.nexus, flag="-nexus")
        path = self._manifest_path()
        if path is not None:
            check_writable(path, flag="--manifest")

    def run(self, *, on_error: str = "stop", progress: Callable[[int, int], None] | None = None,
            on_frame: Callable[[FrameImage], None] | None = None,
            notify: Callable[[str], None] = lambda line: None) -> SeriesReport:
        """Render every frame not yet written and write its files; resume from the manifest.

        ``on_error``: ``"stop"`` raises the first :class:`FrameFailed`; ``"skip"`` reports
        it through ``notify`` and goes on (the frame is missing from the manifest, so a
        re-run tries it again).  ``progress(done, total)`` after each frame;
        ``on_frame(image)`` for each frame rendered, in the order they complete.
        """
        if on_error not in ("stop", "skip"):
            raise InputError(f"expected 'stop' or 'skip', got {on_error!r}", flag="--on-error")
        self.check_outputs()
        exp, plan, report = self.experiment, self.plan, SeriesReport()
        path = self._manifest_path()
        manifest = None if path is None else Manifest.resume(path, plan, self.command,
                                                             tuple(self.formats.templates()))
        stack = None
        nexus_done = (self.nexus is not None and manifest is not None
                      and manifest.extra.get("-nexus", {}).get("path") == self.nexus)
        if self.nexus is not None and not nexus_done:
            stack = FrameStack(FrameStack.beside(self.nexus), len(plan), exp.panel.shape)

        def done(spec: FrameSpec) -> bool:
            if manifest is None or not manifest.done(spec):
                return False
            return stack is None or manifest.entries[spec.number].get("nexus_sha256") == stack.checksum(spec.index)

        todo = [spec for spec in plan.frames if not done(spec)]
        report.skipped = len(plan) - len(todo)
        total = len(plan)
        if progress is not None:
            progress(report.skipped, total)

        def finished(image: FrameImage) -> None:
            spec = plan.frames[image.index]
            frame_exp = frame_experiment(exp, spec)
            noisy = frame_noise(frame_exp, spec, image.image, self.formats) if self.nexus_counts else None
            files = write_frame(frame_exp, spec, image.image, self.formats, noisy)
            entry = frame_entry(frame_exp, spec, image, files)
            if stack is not None:
                entry["nexus_sha256"] = stack.put(spec.index, image.image if noisy is None else noisy)
            if manifest is not None:
                manifest.add(entry)
            report.rendered += 1
            report.render_seconds += image.seconds
            if on_frame is not None:
                on_frame(image)
            if progress is not None:
                progress(report.skipped + report.rendered, total)

        def failed(failure: FrameFailed) -> bool:
            report.failed.append(failure.index + 1)
            if on_error == "skip":
                notify(f"{failure}; skipped (a re-run tries it again)")
                return True
            return False

        run_frames(exp, todo, self.settings, digest=plan.digest, cluster=self.cluster, on_frame=finished,
                   on_error=failed, notify=notify)
        if stack is not None and not report.failed:
            counts = {"counts": True, "saturation": SMV_SATURATION} if self.nexus_counts else {}
            write_nexus(self.nexus, stack.data, [frame_experiment(exp, spec) for spec in plan.frames],
                        flag="-nexus", **counts)
            stack.remove()
            if manifest is not None:
                manifest.add_output("-nexus", self.nexus, sha256_of_file(self.nexus))
        if manifest is not None:
            manifest.rewrite()
        return report
