"""xbragg series: sweep and stills plans, each frame alone equal to the frame in the series,
single runs equal to sweep frames, resume, failures, Dask execution (threads and processes)."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

import xbragg
import xbragg.series.execute as execute_module
from xbragg.cli.main import run as single_run
from xbragg.errors import InputError, OutputError
from xbragg.series import (ClusterSettings, FrameFormats, FrameFailed, frame_path, series, stills_plan,
                           sweep_plan)
from xbragg.series.cli import run as series_run
from xbragg.series.orientations import quaternion_matrix

from processes import child_env

FLAGS = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-N", "5", "-lambda", "1",
         "-distance", "50", "-detpixels", "16", "-noprogress"]
SWEEP = FLAGS + ["-osc", "0.5", "-phisteps", "2"]


def _frames(directory, name: str, n: int) -> list[bytes]:
    return [(directory / frame_path(name, i + 1)).read_bytes() for i in range(n)]


def _manifest(path) -> list[dict]:
    return [json.loads(line) for line in open(path)]


def test_frame_names_put_the_number_before_the_extension():
    assert frame_path("sweep.bin", 1) == "sweep_00001.bin"
    assert frame_path("out/a.b.img", 12) == "out/a.b_00012.img"
    assert frame_path("noext", 3) == "noext_00003"


def test_sweep_frames_equal_single_runs_with_phi(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert series_run(["--frames", "3", *SWEEP, "-floatfile", "s.bin", "-intfile", "s.img"], out) == 0
    for i, phi in enumerate((0.0, 0.5, 1.0)):
        assert single_run([*SWEEP, "-phi", repr(phi), "-floatfile", "one.bin", "-intfile", "one.img", "-nonoise",
                           "-nopgm"], io.StringIO()) == 0
        assert (tmp_path / frame_path("s.bin", i + 1)).read_bytes() == (tmp_path / "one.bin").read_bytes()
        assert (tmp_path / frame_path("s.img", i + 1)).read_bytes() == (tmp_path / "one.img").read_bytes()
    rows = _manifest(tmp_path / "s_manifest.jsonl")
    assert [r["frame"] for r in rows[1:]] == [1, 2, 3]
    assert [(r["phi_start_deg"], r["phi_end_deg"]) for r in rows[1:]] == [(0.0, 0.5), (0.5, 1.0), (1.0, 1.5)]


def test_stills_frame_alone_equals_frame_in_series(tmp_path):
    s = series(FLAGS, stills=4, orientation_seed=7, formats=FrameFormats(floatfile=str(tmp_path / "st.bin")))
    assert s.run().rendered == 4
    files = _frames(tmp_path, str(tmp_path / "st.bin"), 4)
    for i in range(4):
        alone = series(FLAGS, stills=4, orientation_seed=7).render(i)
        assert alone.tobytes() == files[i]
    # different orientations give different images
    assert len(set(files)) == 4


def test_plans_are_deterministic_and_per_frame():
    a = stills_plan(6, orientation_seed=3, noise_seed=5, mosaic_seed=9, fluence_jitter=0.1)
    b = stills_plan(3, orientation_seed=3, noise_seed=5, mosaic_seed=9, fluence_jitter=0.1)
    assert a.frames[:3] == b.frames           # frame i depends on the seed and i only
    assert len({f.noise_seed for f in a.frames}) == 6 and len({f.quaternion for f in a.frames}) == 6
    assert stills_plan(6, orientation_seed=4).frames[0].quaternion != a.frames[0].quaternion
    assert sweep_plan(2, phi_start_deg=1.0, osc_deg=0.25).frames[1].phi_start_deg == 1.25
    with pytest.raises(InputError, match="oscillation"):
        sweep_plan(2, phi_start_deg=0.0, osc_deg=0.0)


def test_orientations_are_uniform_rotations():
    plan = stills_plan(3000, orientation_seed=11)
    R = np.array([quaternion_matrix(f.quaternion) for f in plan.frames])
    assert np.allclose(np.einsum("nij,nkj->nik", R, R), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(R), 1.0)
    # Haar measure: E[R] = 0 and E[R_ij^2] = 1/3 (sampling error ~ 0.01 for 3000 draws)
    assert np.abs(R.mean(axis=0)).max() < 0.05
    assert np.abs((R ** 2).mean(axis=0) - 1 / 3).max() < 0.03


def test_stills_rotate_real_and_reciprocal_axes_together():
    s = series(FLAGS, stills=2, orientation_seed=2)
    exp = s.frame_experiment(1)
    real, recip = exp.crystal.real_axes_m * 1e10, exp.crystal.reciprocal_axes_per_A
    assert np.allclose(real @ recip.T, np.eye(3), atol=1e-9)     # still dual bases
    R = quaternion_matrix(s.plan.frames[1].quaternion)
    assert np.allclose(exp.crystal.U, R @ s.experiment.crystal.U, atol=1e-12)


def test_per_frame_mosaic_seed_equals_single_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flags = [*FLAGS, "-mosaic", "0.5", "-mosaic_dom", "3", "-osc", "0.5"]
    s = series(flags, frames=2, mosaic_seed=77, formats=FrameFormats(floatfile="m.bin"))
    seed = s.plan.frames[1].mosaic_seed
    s.run()
    assert single_run([*flags, "-phi", "0.5", "-mosaic_seed", str(seed), "-floatfile", "one.bin",
                       "-nonoise", "-nopgm"], io.StringIO()) == 0
    assert (tmp_path / "m_00002.bin").read_bytes() == (tmp_path / "one.bin").read_bytes()


def test_resume_renders_only_missing_frames_and_ignores_stale_temporaries(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["--frames", "4", *SWEEP, "-floatfile", "r.bin", "-noisefile", "r.img"]
    assert series_run(argv, io.StringIO()) == 0
    before = _frames(tmp_path, "r.bin", 4) + _frames(tmp_path, "r.img", 4)
    (tmp_path / "r_00003.bin").unlink()
    (tmp_path / ".xbragg-stale").write_bytes(b"half a frame")
    with open("r_manifest.jsonl", "a") as f:
        f.write('{"type": "frame", "frame": 3, "fi')            # a line cut short
    out = io.StringIO()
    assert series_run(argv, out) == 0
    assert "1 frames rendered" in out.getvalue() and "3 already written" in out.getvalue()
    assert _frames(tmp_path, "r.bin", 4) + _frames(tmp_path, "r.img", 4) == before
    rows = _manifest(tmp_path / "r_manifest.jsonl")
    assert sorted(r["frame"] for r in rows if r["type"] == "frame") == [1, 2, 3, 4]
    # a changed file is rendered again; a changed command is a new plan
    (tmp_path / "r_00002.img").write_bytes(b"x")
    out = io.StringIO()
    series_run(argv, out)
    assert "1 frames rendered" in out.getvalue()
    out = io.StringIO()
    series_run([*argv, "-seed", "5"], out)
    assert "4 frames rendered" in out.getvalue()


def test_noise_seeds_differ_per_frame_unless_same(tmp_path):
    fmt = FrameFormats(noisefile=str(tmp_path / "n.img"), seed=3)
    s = series(FLAGS, stills=2, noise_seed=3, formats=fmt)
    s.run()
    assert len({f.noise_seed for f in s.plan.frames}) == 2
    rows = _manifest(tmp_path / "n_manifest.jsonl")
    assert [r["noise_seed"] for r in rows[1:]] == [f.noise_seed for f in s.plan.frames]


def test_failed_frame_stop_or_skip(tmp_path, monkeypatch):
    real = execute_module.render_frame

    def flaky(exp, spec, settings, cache_key=None):
        if spec.index == 1:
            raise InputError("bad per-frame parameter")
        return real(exp, spec, settings, cache_key=cache_key)
    monkeypatch.setattr(execute_module, "render_frame", flaky)
    s = series(FLAGS, stills=3, formats=FrameFormats(floatfile=str(tmp_path / "f.bin")))
    with pytest.raises(FrameFailed, match="frame 2"):
        s.run(on_error="stop")
    notes = []
    report = s.run(on_error="skip", notify=notes.append)
    assert report.failed == [2] and "frame 2" in notes[0]
    rows = _manifest(tmp_path / "f_manifest.jsonl")
    assert sorted(r["frame"] for r in rows if r["type"] == "frame") == [1, 3]


def test_refusals_before_rendering(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="name the outputs"):
        series_run(["--frames", "2", *SWEEP], io.StringIO())
    with pytest.raises(InputError, match="either --frames"):
        series_run(["--frames", "2", "--stills", "2", *SWEEP, "-floatfile", "a.bin"], io.StringIO())
    with pytest.raises(OutputError, match="does not exist"):
        series_run(["--frames", "2", *SWEEP, "-floatfile", "missing/a.bin"], io.StringIO())
    assert series_run(["-h"], io.StringIO()) == 0


def test_unreachable_scheduler_is_a_quick_error(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(execute_module, "CONNECT_TIMEOUT_S", 2)
    start = time.monotonic()
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        series_run(["--frames", "2", *SWEEP, "-floatfile", "a.bin", "--scheduler", "tcp://127.0.0.1:9"],
                   io.StringIO())
    assert time.monotonic() - start < 10


def test_without_dask_runs_here_with_a_note(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import xbragg.series.cli as cli_module
    monkeypatch.setattr(cli_module, "dask_available", lambda: False)
    out = io.StringIO()
    assert series_run(["--frames", "2", "--workers", "2", *SWEEP, "-floatfile", "a.bin"], out) == 0
    assert "pip install 'xbragg[dask]'" in out.getvalue()


def test_gpu_frames_ask_for_the_gpu_resource(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(execute_module, "_gpu", lambda settings: True)     # numpy frames, GPU bookkeeping
    submitted = []
    import distributed
    real_submit = distributed.Client.submit

    def submit(self, *args, **kwargs):
        submitted.append(kwargs.get("resources"))
        return real_submit(self, *args, **kwargs)
    monkeypatch.setattr(distributed.Client, "submit", submit)
    s = series(FLAGS, stills=3, cluster=ClusterSettings(workers=2, processes=False))
    images = []
    s.run(on_frame=images.append)
    assert len(images) == 3 and submitted == [{"GPU": 1}] * 3


def test_cli_nexus_counts_and_cbf_per_frame(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("fabio")
    monkeypatch.chdir(tmp_path)
    argv = ["--frames", "2", *SWEEP, "-cbf", "c.cbf", "-noisefile", "n.img", "-seed", "4", "-nexus", "s.nxs",
            "-nexus_counts", "--smv-adc-offset"]
    assert series_run(argv, io.StringIO()) == 0
    seed = _manifest(tmp_path / "c_manifest.jsonl")[2]["noise_seed"]
    assert single_run([*SWEEP, "-phi", "0.5", "-cbf", "one.cbf", "-noisefile", "one.img", "-seed", str(seed),
                       "-nopgm", "--smv-adc-offset", "-floatfile", "f.bin", "-intfile", "i.img"], io.StringIO()) == 0
    assert (tmp_path / "c_00002.cbf").read_bytes() == (tmp_path / "one.cbf").read_bytes()
    assert (tmp_path / "n_00002.img").read_bytes() == (tmp_path / "one.img").read_bytes()
    with h5py.File(tmp_path / "s.nxs") as f:
        data = f["/entry/data/data"][()]
    assert data.dtype == np.int32 and data.shape == (2, 16, 16)
    pixels = np.frombuffer((tmp_path / "one.img").read_bytes()[-16 * 16 * 2:], dtype=np.uint16)
    assert np.array_equal(data[1].ravel(), pixels)
    with pytest.raises(InputError, match="experiment list"):
        series_run(["--frames", "2", *SWEEP, "-floatfile", "a.bin", "--write-expt", "a.expt"], io.StringIO())


def test_gpu_frames_need_a_worker_with_a_gpu(monkeypatch, process_cluster):
    monkeypatch.setattr(execute_module, "_gpu", lambda settings: True)
    s = series(FLAGS, stills=2, cluster=ClusterSettings(scheduler=process_cluster))
    with pytest.raises(InputError, match="no worker of the cluster offers a GPU"):
        s.run()


def test_nexus_holds_every_frame(tmp_path):
    h5py = pytest.importorskip("h5py")
    nexus = str(tmp_path / "sweep.nxs")
    s = series(SWEEP, frames=3, formats=FrameFormats(floatfile=str(tmp_path / "x.bin")), nexus=nexus)
    s.run()
    with h5py.File(nexus) as f:
        data = f["/entry/data/data"][()]
        omega = f["/entry/sample/transformations/omega"][()]
    assert data.shape == (3, 16, 16)
    for i, raw in enumerate(_frames(tmp_path, str(tmp_path / "x.bin"), 3)):
        assert data[i].astype(np.float32).tobytes() == raw
    assert np.allclose(omega, [0.0, 0.5, 1.0])
    assert not any(name.endswith("xbragg-frames") for name in os.listdir(tmp_path))
    assert s.run().rendered == 0        # complete: nothing to do


def test_device_inputs_are_built_once_per_process(monkeypatch):
    import xbragg.series.frame as frame_module
    calls = []
    real = frame_module.kernel_inputs

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(frame_module, "kernel_inputs", counting)
    s = series(FLAGS, stills=4, orientation_seed=13)
    s.run()
    assert len(calls) == 1          # four frames, one preparation of detector, sources and table


def test_dask_threads_equal_in_process(tmp_path):
    pytest.importorskip("distributed")
    here = series(FLAGS, stills=6, orientation_seed=5, formats=FrameFormats(floatfile=str(tmp_path / "a.bin")))
    here.run()
    cluster = ClusterSettings(workers=2, processes=False, in_flight=3)
    there = replace(here, formats=FrameFormats(floatfile=str(tmp_path / "b.bin")), cluster=cluster)
    notes = []
    assert there.run(notify=notes.append).rendered == 6
    assert any("dashboard" in n for n in notes)
    assert _frames(tmp_path, str(tmp_path / "a.bin"), 6) == _frames(tmp_path, str(tmp_path / "b.bin"), 6)


@pytest.fixture(scope="module")
def process_cluster():
    """A LocalCluster of 2 worker processes, shared by the tests below (about 1 s to start)."""
    pytest.importorskip("distributed")
    from xbragg.series.execute import local_cluster
    with local_cluster(2) as cluster:
        yield cluster.scheduler_address


def test_dask_processes_stills_equal_frames_alone(tmp_path, process_cluster):
    s = series(FLAGS, stills=6, orientation_seed=9, formats=FrameFormats(floatfile=str(tmp_path / "p.bin")),
               cluster=ClusterSettings(scheduler=process_cluster))
    assert s.run().rendered == 6
    workers = {r["worker"] for r in _manifest(tmp_path / "p_manifest.jsonl") if r["type"] == "frame"}
    assert all(int(w.rsplit(":", 1)[1]) != os.getpid() for w in workers)      # rendered elsewhere
    assert _frames(tmp_path, str(tmp_path / "p.bin"), 6) == [s.render(i).tobytes() for i in range(6)]


def test_dask_processes_survive_a_killed_worker(tmp_path, process_cluster):
    """A 6-frame sweep on 2 worker processes; one worker is killed mid-run: every frame once, same bytes."""
    flags = [*SWEEP[:-4], "-detpixels", "48", "-osc", "0.5", "-phisteps", "2"]
    serial = series(flags, frames=6, formats=FrameFormats(floatfile=str(tmp_path / "a.bin")))
    killed = []

    def kill_first_worker(image):
        if not killed:
            pid = int(image.worker.rsplit(":", 1)[1])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    dist = replace(serial, formats=FrameFormats(floatfile=str(tmp_path / "b.bin")),
                   cluster=ClusterSettings(scheduler=process_cluster, in_flight=4))
    report = dist.run(on_frame=kill_first_worker)
    assert killed and report.rendered == 6
    rows = _manifest(tmp_path / "b_manifest.jsonl")
    assert sorted(r["frame"] for r in rows if r["type"] == "frame") == list(range(1, 7))
    assert _frames(tmp_path, str(tmp_path / "b.bin"), 6) == [serial.render(i).tobytes() for i in range(6)]


def test_sigint_then_rerun_renders_only_missing_frames(tmp_path):
    argv = [sys.executable, "-m", "xbragg", "series", "--frames", "150", *SWEEP[:-2], "-detpixels", "64",
            "-floatfile", "i.bin"]
    child = subprocess.Popen(argv, cwd=tmp_path, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    manifest = tmp_path / "i_manifest.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not manifest.exists() or len(manifest.read_text().splitlines()) < 3):
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    written = sum(1 for r in _manifest(manifest) if r["type"] == "frame")
    assert 2 <= written < 150
    done = subprocess.run(argv, cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"{150 - written} frames rendered" in done.stdout and f"{written} already written" in done.stdout


def test_xbragg_series_is_callable_and_imports_no_dask():
    s = xbragg.series(SWEEP, frames=2)
    assert len(s.plan) == 2 and s.render(1).shape == (16, 16)
    assert xbragg.series.Series is type(s)
    done = subprocess.run([sys.executable, "-c", "import sys, xbragg; print('distributed' in sys.modules)"],
                          env=child_env(), capture_output=True, text=True)
    assert done.stdout.strip() == "False"
