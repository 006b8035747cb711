"""``xbragg trace-diff``: golden traces against perturbed, renamed and broken copies."""
from __future__ import annotations

import gzip
import json
import re

import pytest

from golden import GOLDEN
from xbragg.cli.main import main as cli_main
from xbragg.tools import trace_diff
from xbragg.tools.trace_diff import main, parse_line, parse_value

CUBIC = GOLDEN / "cubic_default" / "trace.txt"
ABSORPTION = GOLDEN / "absorption_layers" / "trace.txt"
TRACES = sorted(GOLDEN.glob("*/trace.txt"))


def _perturb(text: str, key: str, factor: float, occurrence: int = 1) -> str:
    """``text`` with the ``occurrence``-th ``TRACE_C: key`` value scaled by ``factor``."""
    seen = 0
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith(f"TRACE_C: {key} "):
            seen += 1
            if seen == occurrence:
                value = float(line.split()[2])
                line = f"TRACE_C: {key} {value * factor!r}\n"
        out.append(line)
    assert seen >= occurrence, key
    return "".join(out)


def _as_py(text: str) -> str:
    return re.sub(r"^TRACE_C", "TRACE_PY", text, flags=re.MULTILINE)


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.parent.name)
def test_identical_trace_exits_0(trace, capsys):
    assert main([str(trace), str(trace)]) == 0
    assert "no divergence" in capsys.readouterr().out


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.parent.name)
def test_trace_py_copy_is_identical(trace, tmp_path, capsys):
    ours = tmp_path / "py.txt"
    ours.write_text(_as_py(trace.read_text()))
    assert main([str(trace), str(ours), "--strict", "--out", str(tmp_path / "o")]) == 0
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["counts"]["only_ref"] == m["counts"]["only_ours"] == m["counts"]["diverged"] == 0
    assert m["counts"]["compared"] == m["counts"]["ref_quantities"] > 20


def test_perturbed_value_is_first_divergence(tmp_path, capsys):
    ours = tmp_path / "ours.txt"
    ours.write_text(_as_py(_perturb(CUBIC.read_text(), "F_latt_b", 1 + 1e-6)))
    out = tmp_path / "out"
    assert main([str(CUBIC), str(ours), "--out", str(out)]) == 3
    printed = capsys.readouterr().out
    assert "first divergence: F_latt_b " in printed
    assert re.search(r"^>>F_latt_b\s", printed, re.MULTILINE)
    m = json.loads((out / "metrics.json").read_text())
    assert m["diverges"] is True
    assert m["first_divergence"]["key"] == "F_latt_b"
    assert m["first_divergence"]["rel_diff"] == pytest.approx(1e-6, rel=1e-3)
    assert m["counts"]["diverged"] == 1
    keys = [q["key"] for q in m["quantities"]]
    assert keys.index("F_latt_a") < keys.index("F_latt_b") < keys.index("F_cell")
    summary = (out / "summary.md").read_text()
    assert "F_latt_b" in summary and "first divergence" in summary
    # a looser tolerance accepts it
    assert main([str(CUBIC), str(ours), "--rtol", "1e-5"]) == 0


def test_first_divergence_follows_chain_order(tmp_path, capsys):
    text = _perturb(CUBIC.read_text(), "I_pixel_final", 1.01)
    text = _perturb(text, "omega_pixel_sr", 1.01)      # earlier in the chain
    ours = tmp_path / "ours.txt"
    ours.write_text(text)
    assert main([str(CUBIC), str(ours)]) == 3
    assert "first divergence: omega_pixel_sr " in capsys.readouterr().out


def test_repeated_keys_match_by_occurrence(tmp_path, capsys):
    text = ABSORPTION.read_text()
    n = text.count("TRACE_C: pixel_pos_meters ")
    assert n > 1
    ours = tmp_path / "ours.txt"
    ours.write_text(_perturb(text, "R_distance_meters", 1 + 1e-7, occurrence=3))
    out = tmp_path / "out"
    assert main([str(ABSORPTION), str(ours), "--out", str(out)]) == 3
    m = json.loads((out / "metrics.json").read_text())
    assert m["first_divergence"]["key"] == "R_distance_meters#3"
    assert m["first_divergence"]["occurrence"] == 3
    assert "pixel_pos_meters#%d" % n in {q["key"] for q in m["quantities"]}


def test_phi_lines_become_keys(tmp_path, capsys):
    text = CUBIC.read_text().replace("TRACE_C_PHI phi_tic=0 phi_deg=0 k_frac=0.00806451411290393",
                                     "TRACE_C_PHI phi_tic=0 phi_deg=0 k_frac=0.00806451421290393")
    ours = tmp_path / "ours.txt"
    ours.write_text(text)
    assert main([str(CUBIC), str(ours)]) == 3
    assert "first divergence: phi[0].k_frac " in capsys.readouterr().out
    assert parse_line("TRACE_PY_PHI phi_tic=3 phi_deg=0.03 k_frac=1.5 F_latt=2\n") == [
        ("phi[3].phi_deg", "0.03"), ("phi[3].k_frac", "1.5"), ("phi[3].F_latt", "2")]


def test_header_values_parse_to_numbers():
    assert parse_line("TRACE_C:Fbeam_m=0.0065") == [("Fbeam_m", "0.0065")]
    assert parse_line("TRACE_C: F_cell 100") == [("F_cell", "100")]
    assert parse_line("TRACE: a = [1, 2]") == [] and parse_line("TRACE_CONFIG: x 1") == []
    v = parse_value("[1 0 0; 0 1 -0; 0 0 1]")
    assert v.numbers == (1, 0, 0, 0, 1, 0, 0, 0, 1) and v.shape == " ".join(["#"] * 9)
    v = parse_value("rotx:0.0872664625997165 roty:0 rotz:0 twotheta:-1e-3")
    assert v.numbers == (0.0872664625997165, 0, 0, -1e-3)
    assert v.shape == "rotx:# roty:# rotz:# twotheta:#"
    assert parse_value("MOSFLM").numbers == () and parse_value("MOSFLM").shape == "MOSFLM"
    assert parse_value("1 2.0 -3").integer == (True, False, True)
    assert parse_value("nan -inf").shape == "# #"


def test_header_value_and_label_changes_diverge(tmp_path, capsys):
    ours = tmp_path / "ours.txt"
    ours.write_text(CUBIC.read_text().replace("TRACE_C:Fbeam_m=0.0065", "TRACE_C:Fbeam_m=0.00650001"))
    assert main([str(CUBIC), str(ours)]) == 3
    assert "first divergence: Fbeam_m " in capsys.readouterr().out
    ours.write_text(CUBIC.read_text().replace("X:6.45e-06 Y:", "Xclose:6.45e-06 Y:"))
    assert main([str(CUBIC), str(ours)]) == 3
    assert "first divergence: beam_center_m " in capsys.readouterr().out
    ours.write_text(CUBIC.read_text().replace("convention=MOSFLM", "convention=XDS"))
    assert main([str(CUBIC), str(ours)]) == 3
    assert "first divergence: detector_convention " in capsys.readouterr().out


def test_integers_compare_exactly_floats_relatively(tmp_path, capsys):
    ref = tmp_path / "ref.txt"
    ours = tmp_path / "ours.txt"
    ref.write_text("TRACE_C: hkl_rounded 1000000000000 0 0\nTRACE_C: F_cell 100\nTRACE_C: z 0 0\n")
    ours.write_text("TRACE_PY: hkl_rounded 1000000000000 0 0\nTRACE_PY: F_cell 100.00000000000001\n"
                    "TRACE_PY: z 0 -0\n")
    assert main([str(ref), str(ours)]) == 0
    ours.write_text("TRACE_PY: hkl_rounded 1000000000001 0 0\nTRACE_PY: F_cell 100\nTRACE_PY: z 0 0\n")
    assert main([str(ref), str(ours), "--rtol", "1e-3"]) == 3
    assert "first divergence: hkl_rounded " in capsys.readouterr().out


def test_atol_forgives_tiny_components(tmp_path, capsys):
    ref = tmp_path / "ref.txt"
    ours = tmp_path / "ours.txt"
    ref.write_text("TRACE_C: rot_a_angstroms 100 6.12323399573677e-15 6.12323399573677e-15\n")
    ours.write_text("TRACE_PY: rot_a_angstroms 100 0 0\n")
    assert main([str(ref), str(ours)]) == 3
    assert main([str(ref), str(ours), "--atol", "1e-12"]) == 0


def test_missing_quantities_are_marked(tmp_path, capsys):
    lines = _as_py(CUBIC.read_text()).splitlines(keepends=True)
    kept = [l for l in lines if not l.startswith("TRACE_PY: F_cell ")]
    kept.insert(len(kept) - 1, "TRACE_PY: extra_quantity 1 2 3\n")
    ours = tmp_path / "ours.txt"
    ours.write_text("".join(kept))
    out = tmp_path / "out"
    assert main([str(CUBIC), str(ours), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^<\s*F_cell\s.*only in ref", printed, re.MULTILINE)
    assert re.search(r"^>\s*extra_quantity\s.*only in ours", printed, re.MULTILINE)
    m = json.loads((out / "metrics.json").read_text())
    assert m["counts"]["only_ref"] == 1 and m["counts"]["only_ours"] == 1
    keys = [q["key"] for q in m["quantities"]]
    # placed after its predecessor in ours (cos_2theta), before the last quantity
    assert keys.index("extra_quantity") == keys.index("I_pixel_final") + 1
    assert main([str(CUBIC), str(ours), "--strict"]) == 3
    assert "first divergence: F_cell" in capsys.readouterr().out


def test_gzip_trace(tmp_path, capsys):
    gz = tmp_path / "trace.txt.gz"
    gz.write_bytes(gzip.compress(_as_py(CUBIC.read_text()).encode()))
    assert main([str(CUBIC), str(gz)]) == 0


def test_bad_input_exits_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.txt"), str(CUBIC)]) == 2
    err = capsys.readouterr().err
    assert "missing.txt" in err and "does not exist" in err
    prose = tmp_path / "prose.txt"
    prose.write_text("TRACE: only prose here\nTRACE_CONFIG: tracing pixel\nhello\n")
    assert main([str(CUBIC), str(prose)]) == 2
    assert "no trace lines" in capsys.readouterr().err
    assert main([str(tmp_path), str(CUBIC)]) == 2
    assert "directory" in capsys.readouterr().err
    broken = tmp_path / "broken.gz"
    broken.write_bytes(b"not gzip at all")
    assert main([str(CUBIC), str(broken)]) == 2
    assert "broken.gz" in capsys.readouterr().err
    assert main([str(CUBIC)]) == 2                      # usage error
    assert main([str(CUBIC), str(CUBIC), "--rtol", "-1"]) == 2


def test_out_directory_unwritable_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([str(CUBIC), str(CUBIC), "--out", str(blocker / "sub")]) == 2
    assert "--out" in capsys.readouterr().err


def test_streams_without_reading_whole_file(tmp_path, monkeypatch):
    calls = []
    real_open = trace_diff._open_text

    def spy(path):
        handle = real_open(path)
        original = handle.read
        def read(*a, **k):   # noqa: E306
            calls.append(a)
            return original(*a, **k)
        handle.read = read
        return handle

    monkeypatch.setattr(trace_diff, "_open_text", spy)
    assert main([str(CUBIC), str(CUBIC), "-q"]) == 0
    assert calls == []


def test_cli_subcommand_dispatch(tmp_path, capsys):
    assert cli_main(["trace-diff", str(CUBIC), str(CUBIC), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("no divergence")
