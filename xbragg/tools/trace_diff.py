"""``xbragg trace-diff REF OURS``: compare two one-pixel traces quantity by quantity.

A trace is the text a run prints with ``-trace_pixel``: the reference program writes lines
starting ``TRACE_C`` (``TRACE_C:key=value`` for the geometry set-up, ``TRACE_C: key v1 v2 ...``
for the per-pixel chain, ``TRACE_C_PHI phi_tic=N name=value ...`` per phi step) and xbragg
writes the same keys after ``TRACE_PY`` / ``TRACE_PY_PHI``. Every other line (``TRACE:``
prose, ``TRACE_CONFIG:``, program output) is ignored.

Quantities are matched by key; a key printed several times in one trace (the reference prints
the per-sub-pixel block once per sensor layer and sub-pixel) is matched by occurrence number
(``pixel_pos_meters#1``, ``#2``, ...). Phi lines become ``phi[N].name``. Values are read as
vectors of numbers (labels such as ``rotx:`` and brackets are kept as the value's shape, which
must agree) and compared component by component with the relative difference
``|a - b| / max(|a|, |b|)`` (0 when both are 0); components printed as integers on both sides
must be equal. Values without numbers are compared as text.

Files are read line by line (``.gz`` decompressed on the fly); only the parsed quantities are
kept. Exit status: 0 when nothing diverges beyond ``--rtol``, 3 when something does, 2 when an
input cannot be read or holds no trace lines (or an output cannot be written).
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from xbragg.errors import OutputError, XbraggError
from xbragg.io.atomic import atomic_write_bytes

__all__ = ["TraceError", "Value", "Entry", "parse_value", "parse_line", "parse_lines",
           "read_trace", "compare_traces", "compare_entries", "jsonable", "main"]

#: exit statuses
EXIT_SAME, EXIT_BAD_INPUT, EXIT_DIVERGED = 0, 2, 3
DEFAULT_RTOL = 1e-9

_PHI_PREFIX = re.compile(r"^TRACE_(?:C|PY)_PHI(?=[\s:])[\s:]*")
_PREFIX = re.compile(r"^TRACE_(?:C|PY):")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity)",
                     re.IGNORECASE)
_INTEGER = re.compile(r"[-+]?\d+")
_SEPARATORS = re.compile(r"[\s;,\[\]]+")
_LABEL = re.compile(r"^(.*[:=])(.*)$")


class TraceError(XbraggError):
    """A trace that cannot be read, or holds no trace lines."""


@dataclass(frozen=True)
class Value:
    """A printed value: its text, its numbers in order, and its shape.

    ``shape`` is the text with each number replaced by ``#`` (labels such as ``rotx:`` and
    words kept); two values are comparable number by number only when their shapes agree.
    ``integer[i]`` says whether number ``i`` was printed as an integer.
    """

    text: str
    numbers: tuple[float, ...]
    integer: tuple[bool, ...]
    shape: str


@dataclass
class Entry:
    """One quantity of a trace: key, occurrence number (1-based), value, line number."""

    key: str
    occurrence: int
    value: Value
    line: int

    @property
    def ident(self) -> tuple[str, int]:
        return (self.key, self.occurrence)


def parse_value(text: str) -> Value:
    """Split ``text`` into numbers and shape: ``"rotx:0 roty:0.5"`` -> (0, 0.5), ``rotx:# roty:#``.

    Tokens are separated by blanks, ``;``, ``,`` and brackets; a token ``label:number`` or
    ``label=number`` gives its number and keeps its label in the shape.
    """
    text = text.strip()
    numbers: list[float] = []
    integer: list[bool] = []
    shape: list[str] = []
    for token in _SEPARATORS.split(text):
        if not token:
            continue
        label, rest = "", token
        m = _LABEL.match(token)
        if m and _NUMBER.fullmatch(m.group(2)):
            label, rest = m.group(1), m.group(2)
        if _NUMBER.fullmatch(rest):
            numbers.append(float(rest))
            integer.append(bool(_INTEGER.fullmatch(rest)))
            shape.append(label + "#")
        else:
            shape.append(token)
    return Value(text, tuple(numbers), tuple(integer), " ".join(shape))


def parse_line(line: str) -> list[tuple[str, str]]:
    """The ``(key, value text)`` pairs of one trace line; ``[]`` for a line that is not one.

    ``TRACE_C:key=value`` and ``TRACE_C: key v1 v2`` give one pair; ``TRACE_C_PHI phi_tic=3
    k_frac=0.1 ...`` gives ``("phi[3].k_frac", "0.1")`` and so on. ``TRACE_PY`` likewise.
    """
    line = line.rstrip("\r\n")
    m = _PHI_PREFIX.match(line)
    if m:
        fields = [f.split("=", 1) for f in line[m.end():].split() if "=" in f]
        named = dict(fields)
        tic = named.get("phi_tic", "?")
        return [(f"phi[{tic}].{name}", value) for name, value in fields if name != "phi_tic"]
    m = _PREFIX.match(line)
    if not m:
        return []
    rest = line[m.end():]
    parts = rest.split(None, 1)
    if not parts:
        return []
    if rest[0].isspace() or "=" not in parts[0]:
        return [(parts[0], parts[1] if len(parts) > 1 else "")]
    key, value = rest.split("=", 1)
    return [(key.strip(), value)]


def _open_text(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def parse_lines(lines: Iterable[str]) -> Iterator[Entry]:
    """The quantities of trace text given line by line, in order, numbering repeats.

    Lines that are not trace lines are skipped; ``Entry.line`` counts every line from 1.
    """
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.startswith("TRACE_"):
            continue
        for key, text in parse_line(line):
            seen[key] = seen.get(key, 0) + 1
            yield Entry(key, seen[key], parse_value(text), number)


def read_trace(path: str | os.PathLike[str]) -> Iterator[Entry]:
    """Stream the quantities of the trace at ``path`` (see :func:`parse_lines`).

    Raises :class:`TraceError` for a file that cannot be read.
    """
    name = os.fspath(path)
    try:
        with _open_text(name) as handle:
            yield from parse_lines(handle)
    except FileNotFoundError:
        raise TraceError(f"{name}: file does not exist") from None
    except IsADirectoryError:
        raise TraceError(f"{name}: is a directory, not a trace file") from None
    except (OSError, EOFError) as exc:   # gzip errors are OSError / EOFError
        raise TraceError(f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def _rel(a: float, b: float) -> float:
    """``|a - b| / max(|a|, |b|)``; 0 when equal (both 0, both nan, same infinity)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


@dataclass
class Row:
    """One line of the comparison: a quantity found in the reference, ours, or both."""

    key: str
    occurrence: int
    ref: Entry | None
    ours: Entry | None
    rel: list[float] = field(default_factory=list)   # per component
    status: str = "same"      # same | diverged | shape | only_ref | only_ours

    @property
    def max_rel(self) -> float | None:
        if self.status == "shape":
            return math.inf
        return max(self.rel, default=0.0) if self.ref and self.ours else None


def _compare_values(a: Value, b: Value, rtol: float, atol: float) -> tuple[list[float], str]:
    if a.shape != b.shape or len(a.numbers) != len(b.numbers):
        return [], "shape"
    if not a.numbers:
        return [], "same"
    rel = [_rel(x, y) for x, y in zip(a.numbers, b.numbers)]
    diverged = False
    for x, y, r, ix, iy in zip(a.numbers, b.numbers, rel, a.integer, b.integer):
        if ix and iy:
            diverged |= x != y
        elif r > rtol and not abs(x - y) <= atol:
            diverged = True
    return rel, "diverged" if diverged else "same"


@dataclass
class Comparison:
    """Every row in chain order (reference order; quantities only in ours after their
    predecessor in ours), the first divergence, and the two line counts."""

    rows: list[Row]
    first: Row | None
    rtol: float
    atol: float
    strict: bool
    n_ref: int
    n_ours: int

    def counts(self) -> dict[str, int]:
        c = {s: 0 for s in ("same", "diverged", "shape", "only_ref", "only_ours")}
        for row in self.rows:
            c[row.status] += 1
        return {"ref_quantities": self.n_ref, "ours_quantities": self.n_ours,
                "compared": c["same"] + c["diverged"] + c["shape"], "same": c["same"],
                "diverged": c["diverged"] + c["shape"], "only_ref": c["only_ref"],
                "only_ours": c["only_ours"]}

    @property
    def diverges(self) -> bool:
        return self.first is not None

    def label(self, row: Row) -> str:
        return row.key if self._single.get(row.key, False) else f"{row.key}#{row.occurrence}"

    def __post_init__(self) -> None:
        most: dict[str, int] = {}
        for row in self.rows:
            most[row.key] = max(most.get(row.key, 0), row.occurrence)
        self._single = {k: n == 1 for k, n in most.items()}


def _counts_as_divergence(row: Row, strict: bool) -> bool:
    return row.status in ("diverged", "shape") or (strict and row.status.startswith("only"))


def compare_traces(ref: str | os.PathLike[str], ours: str | os.PathLike[str], *,
                   rtol: float = DEFAULT_RTOL, atol: float = 0.0,
                   strict: bool = False) -> Comparison:
    """Compare the trace files ``ref`` and ``ours``; :class:`TraceError` for unreadable input
    or a file without trace lines."""
    entries = []
    for path in (ref, ours):
        entries.append(list(read_trace(path)))
        if not entries[-1]:
            raise TraceError(f"{os.fspath(path)}: no trace lines (TRACE_C or TRACE_PY) found")
    return compare_entries(*entries, rtol=rtol, atol=atol, strict=strict)


def compare_entries(ref: Sequence[Entry], ours: Sequence[Entry], *, rtol: float = DEFAULT_RTOL,
                    atol: float = 0.0, strict: bool = False) -> Comparison:
    """Compare two traces already parsed (by :func:`parse_lines` or :func:`read_trace`)."""
    ours_by_id = {e.ident: e for e in ours}
    ref_ids = {e.ident for e in ref}
    # quantities only in ours go after the last common quantity before them in ours
    after: dict[tuple[str, int] | None, list[tuple[str, int]]] = {}
    anchor = None
    for e in ours:
        if e.ident in ref_ids:
            anchor = e.ident
        else:
            after.setdefault(anchor, []).append(e.ident)

    def only_ours(anchor_id) -> list[Row]:
        return [Row(k, n, None, ours_by_id[(k, n)], status="only_ours")
                for k, n in after.get(anchor_id, [])]

    rows = only_ours(None)
    for e in ref:
        mine = ours_by_id.get(e.ident)
        if mine is None:
            rows.append(Row(e.key, e.occurrence, e, None, status="only_ref"))
        else:
            rel, status = _compare_values(e.value, mine.value, rtol, atol)
            rows.append(Row(e.key, e.occurrence, e, mine, rel, status))
            rows.extend(only_ours(e.ident))
    first = next((r for r in rows if _counts_as_divergence(r, strict)), None)
    return Comparison(rows, first, rtol, atol, strict, len(ref), len(ours))


# ---------------------------------------------------------------------------- reporting

_STATUS_MARK = {"same": "", "diverged": "!", "shape": "!", "only_ref": "<", "only_ours": ">"}


def _fmt_rel(row: Row) -> str:
    if row.status == "only_ref":
        return "only in ref"
    if row.status == "only_ours":
        return "only in ours"
    if row.status == "shape":
        return "differs"
    return f"{row.max_rel:.3g}" if row.rel else ("0" if row.status == "same" else "differs")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(cmp: Comparison, width: int = 36) -> str:
    """The comparison as a plain-text table in chain order, with a closing verdict line."""
    keyw = min(44, max([len(cmp.label(r)) for r in cmp.rows] + [8]))
    lines = [f"  {'quantity':<{keyw}}  {'reference':<{width}}  {'ours':<{width}}  rel diff"]
    for row in cmp.rows:
        mark = ">>" if row is cmp.first else _STATUS_MARK[row.status]
        ref = row.ref.value.text if row.ref else "-"
        ours = row.ours.value.text if row.ours else "-"
        lines.append(f"{mark:<2}{_clip(cmp.label(row), keyw):<{keyw}}  {_clip(ref, width):<{width}}  "
                     f"{_clip(ours, width):<{width}}  {_fmt_rel(row)}")
    lines.append("")
    lines.append(verdict(cmp))
    return "\n".join(lines) + "\n"


def verdict(cmp: Comparison) -> str:
    c = cmp.counts()
    tally = (f"{c['compared']} quantities compared, {c['diverged']} diverged, "
             f"{c['only_ref']} only in the reference, {c['only_ours']} only in ours")
    if cmp.first is None:
        return f"no divergence beyond rtol={cmp.rtol:g} ({tally})"
    r = cmp.first
    if r.status.startswith("only"):
        what = "present only in the " + ("reference" if r.status == "only_ref" else "ours")
    elif r.status == "shape":
        what = f"values differ in form: reference {r.ref.value.text!r}, ours {r.ours.value.text!r}"
    else:
        what = (f"reference {r.ref.value.text}, ours {r.ours.value.text}, "
                f"rel diff {r.max_rel:.3g} > rtol={cmp.rtol:g}")
    return f"first divergence: {cmp.label(r)} ({what}) ({tally})"


def jsonable(obj):
    """``obj`` with every non-finite float (at any depth of dicts, lists, tuples) made None,
    so that it dumps as strict JSON (null)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def _entry_json(e: Entry | None):
    if e is None:
        return None
    return {"text": e.value.text, "values": list(e.value.numbers), "line": e.line}


def metrics(cmp: Comparison, ref: str, ours: str) -> dict:
    """The comparison as a JSON-ready dictionary (non-finite numbers as None)."""
    def row_json(i: int, r: Row) -> dict:
        return {"index": i, "key": cmp.label(r), "name": r.key, "occurrence": r.occurrence,
                "status": r.status, "ref": _entry_json(r.ref), "ours": _entry_json(r.ours),
                "rel_diff": r.max_rel, "rel_diff_components": r.rel}
    rows = [row_json(i, r) for i, r in enumerate(cmp.rows)]
    first = next((rows[i] for i, r in enumerate(cmp.rows) if r is cmp.first), None)
    return jsonable({"ref": ref, "ours": ours, "rtol": cmp.rtol, "atol": cmp.atol,
                     "strict": cmp.strict, "diverges": cmp.diverges, "first_divergence": first,
                     "counts": cmp.counts(), "quantities": rows})


def summary_markdown(cmp: Comparison, ref: str, ours: str) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")
    out = ["# trace-diff\n", f"- reference: `{ref}`", f"- ours: `{ours}`",
           f"- rtol: {cmp.rtol:g}" + (f", atol: {cmp.atol:g}" if cmp.atol else ""), "",
           f"**{cell(verdict(cmp))}**", "",
           "| | quantity | reference | ours | rel diff |", "|---|---|---|---|---|"]
    for r in cmp.rows:
        mark = "**>>**" if r is cmp.first else _STATUS_MARK[r.status]
        out.append(f"| {cell(mark)} | `{cmp.label(r)}` | {cell(r.ref.value.text) if r.ref else '-'} | "
                   f"{cell(r.ours.value.text) if r.ours else '-'} | {_fmt_rel(r)} |")
    return "\n".join(out) + "\n"


def write_reports(cmp: Comparison, ref: str, ours: str, outdir: str) -> None:
    """Write ``metrics.json`` and ``summary.md`` into ``outdir`` (created when missing)."""
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out: cannot create {outdir}: {exc.strerror or exc}") from None
    payload = json.dumps(metrics(cmp, ref, ours), indent=1, allow_nan=False) + "\n"
    atomic_write_bytes(os.path.join(outdir, "metrics.json"), payload.encode())
    atomic_write_bytes(os.path.join(outdir, "summary.md"), summary_markdown(cmp, ref, ours).encode())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xbragg trace-diff",
        description="Compare two one-pixel traces (reference TRACE_C or xbragg TRACE_PY lines) "
                    "quantity by quantity, in the reference's order, and name the first that "
                    "diverges. Exit 0: none diverges; 3: one does; 2: unreadable input.")
    p.add_argument("ref", metavar="REF", help="reference trace (e.g. tests/reference/<case>/trace.txt)")
    p.add_argument("ours", metavar="OURS", help="trace to check against it")
    p.add_argument("--rtol", type=float, default=DEFAULT_RTOL, metavar="R",
                   help=f"largest relative difference still equal (default {DEFAULT_RTOL:g})")
    p.add_argument("--atol", type=float, default=0.0, metavar="A",
                   help="components differing by at most this much are equal whatever their "
                        "relative difference (default 0: off)")
    p.add_argument("--strict", action="store_true",
                   help="a quantity present in only one trace counts as a divergence")
    p.add_argument("--out", metavar="DIR", help="write metrics.json and summary.md into DIR")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print only the verdict line, not the table")
    return p


def main(argv: list[str] | None = None) -> int:
    """``xbragg trace-diff REF OURS [--rtol R] [--out DIR]``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:       # argparse: -h (0) or a usage error (2)
        return int(exc.code or 0)
    if not (args.rtol >= 0 and args.atol >= 0):
        sys.stderr.write("xbragg trace-diff: error: --rtol and --atol must be >= 0\n")
        return EXIT_BAD_INPUT
    try:
        cmp = compare_traces(args.ref, args.ours, rtol=args.rtol, atol=args.atol,
                             strict=args.strict)
        sys.stdout.write(verdict(cmp) + "\n" if args.quiet else format_table(cmp))
        if args.out:
            write_reports(cmp, args.ref, args.ours, args.out)
    except XbraggError as exc:
        sys.stderr.write(f"xbragg trace-diff: error: {exc}\n")
        return EXIT_BAD_INPUT
    return EXIT_DIVERGED if cmp.diverges else EXIT_SAME


if __name__ == "__main__":
    sys.exit(main())
