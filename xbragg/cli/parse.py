"""Turn an argument list into :class:`SimulationOptions` and run settings, or a clear error."""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field

from ..backends import BACKENDS
from ..errors import InputError
from ..setup.options import SimulationOptions
from .flags import FLAGS, SEED_LIMIT, Flag, flag_index


@dataclass
class ParsedArgs:
    """Result of parsing: physics options, output/run settings, and which options were given."""

    options: SimulationOptions
    settings: dict = field(default_factory=dict)
    explicit: set = field(default_factory=set)
    help: bool = False
    version: bool = False
    #: one line each (printed as ``note: ...``): what accepted flags do in the reference, and where
    #: its reading of a flag would change the image (``--c-parity`` reproduces that)
    notes: list = field(default_factory=list)


#: ``xbragg SUBCOMMAND ...``: tools beside the simulator, each a module with ``main(argv) -> int``,
#: and the line ``xbragg -h`` shows for it
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "compare": ("xbragg.tools.compare",
                "render FLAGS with xbragg and compare the image with the reference program's or a stored one"),
    "trace-diff": ("xbragg.tools.trace_diff", "compare two -trace_pixel traces quantity by quantity"),
    "series": ("xbragg.series.cli",
               "a rotation sweep (--frames N) or random-orientation stills (--stills N), here or on Dask"),
}

#: ``xbragg -h`` opens with these (comment, command)
EXAMPLES = (
    ("a 100 A cubic crystal, every F = 100, 6.2 A beam: floatimage.bin and intimage.img",
     "xbragg -cell 100 100 100 90 90 90 -default_F 100 -lambda 6.2 -N 5 -distance 100 -detpixels 1024 "
     "-nonoise -nopgm"),
    ("structure factors and orientation from files, a noisy SMV image with a fixed seed",
     "xbragg -hkl P1.hkl -mat A.mat -lambda 1.0 -N 10 -distance 200 -detpixels 1024 -noisefile noise.img "
     "-seed 1 -nopgm"),
    ("xbragg against a stored reference image, with one pixel's scaling chain traced",
     "xbragg compare --ref-float ref.bin --outdir cmp -- -cell 100 100 100 90 90 90 -default_F 100 "
     "-lambda 6.2 -N 5 -detpixels 128 -trace_pixel 64 64"),
)

#: Flags whose value must be one of a few words (compared case-sensitively, except -pivot).
CHOICES: dict[str, tuple[str, ...]] = {
    "-pivot": ("beam", "sample"),
    "--backend": BACKENDS,
    "--dtype": ("float64", "float32"),
    "--compile": ("auto", "on", "off"),
}


def _check_choice(token: str, value: str) -> None:
    """Reject a word value of ``token`` that is not one of :data:`CHOICES`."""
    choices = CHOICES.get(token)
    if choices is None:
        return
    word = value.lower() if token == "-pivot" else value
    if word not in choices:
        quoted = ", ".join(repr(c) for c in choices)
        hint = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
        raise InputError(f"expected one of {quoted}, got {value!r}"
                         + (f"; did you mean {hint[0]!r}?" if hint else ""), flag=token)


#: spellings handled by parse_args itself rather than by the flag table
OWN_SPELLINGS = ("-h", "--help", "-help", "--version", "-version", "--phi-carryover")


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn ``a`` into ``b``:
    the optimal-string-alignment form of the Damerau-Levenshtein distance."""
    before, row = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        before, row = row, current
    return row[-1]


def suggest(name: str) -> str | None:
    """The known flag nearest to ``name`` by :func:`edit_distance` (ignoring case; among
    equals, one that ``name`` begins, then the first in table order), for "did you mean"
    messages; ``None`` when even the nearest needs more than a third of the name's letters
    changed (2 edits are always allowed): a suggestion that far off would mislead."""
    names = [*flag_index(), *OWN_SPELLINGS]
    word = name.lower()
    distance, _, best = min((edit_distance(word, n.lower()), not n.lower().startswith(word), i)
                            for i, n in enumerate(names))
    return names[best] if distance <= max(2, len(name.lstrip("-")) // 3) else None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_value(flag: Flag, used_name: str, token: str):
    kind = flag.kind
    if kind in ("str", "path"):
        if token.startswith("-") and not _is_number(token) and kind == "path":
            raise InputError(f"expected a file name, got the flag {token!r}", flag=used_name)
        return token
    if kind == "seed":
        # whole numbers only: the reference's atoi would read "12.5" as 12 and "1e3" as 1
        text = token.strip()
        if not text.lstrip("+-").isdigit() or not text.isascii():
            raise InputError(f"expected an integer seed, got {token!r}", flag=used_name)
        value = int(text)
        if abs(value) > SEED_LIMIT:
            raise InputError(f"seed must lie within +-{SEED_LIMIT} (a C int), got {token}", flag=used_name)
        return value
    if kind == "int":
        try:
            value = float(token)
        except ValueError:
            raise InputError(f"expected an integer, got {token!r}", flag=used_name) from None
        if not math.isfinite(value) or value != int(value):
            raise InputError(f"expected an integer, got {token!r}", flag=used_name)
        value = int(value)
    else:
        try:
            value = float(token)
        except ValueError:
            what = "a number or 'inf'" if kind == "float_or_inf" else "a number"
            raise InputError(f"expected {what}, got {token!r}", flag=used_name) from None
        if math.isnan(value) or (math.isinf(value) and kind != "float_or_inf"):
            raise InputError(f"expected a finite number, got {token!r}", flag=used_name)
    if flag.positive and not value > 0:
        raise InputError(f"must be positive, got {token}", flag=used_name)
    if flag.minimum is not None and value < flag.minimum:
        raise InputError(f"must be at least {flag.minimum:g}, got {token}", flag=used_name)
    return value


_C_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf(inity)?|nan)", re.IGNORECASE)


def c_atof(token: str) -> float:
    """C's ``atof``: the number at the start of ``token``, 0 when there is none (``atof("-N")`` is 0)."""
    match = _C_NUMBER.match(token)
    return float(match.group(0)) if match else 0.0


def reference_argv(argv: list[str]) -> list[str]:
    """The arguments the reference would be given: ``argv`` without xbragg's own ``--`` flags and
    their values (the reference matches flags by substring, so it would read ``--phi-carryover``
    as ``-phi`` and take the next token as the angle)."""
    return _reference_positions(argv)[0]


def _reference_positions(argv: list[str]) -> tuple[list[str], dict[int, int]]:
    """The arguments the reference sees (xbragg's own ``--`` flags and their values left out),
    and the position there of each argument of ``argv`` that it sees."""
    index = flag_index()
    seen: list[str] = []
    where: dict[int, int] = {}
    i = 0
    while i < len(argv):
        flag = index.get(argv[i])
        if argv[i].startswith("--") and flag is not None:
            i += 1 + flag.nargs
            continue
        where[i] = len(seen)
        seen.append(argv[i])
        i += 1
    return seen, where


def _reference_reading(token: str, argv: list[str], at: int, values: list) -> tuple[str, dict] | None:
    """What the reference's reading also does with ``argv[at]``: (note, option changes), or ``None``.

    ``argv`` is what the reference sees (:func:`_reference_positions`).  It tests every
    argument with ``strstr``: ``-twotheta_axis`` also matches ``-twotheta`` and
    ``-misset_seed`` also matches ``-misset``; and it takes ``-curved_det`` only when
    another argument follows (``argc > i+1``), though it reads none.
    """
    if token == "-curved_det" and at == len(argv) - 1:
        return ("the reference ignores -curved_det as the last argument (it expects another after it): "
                "a flat detector; --c-parity reproduces it", {"curved_det": False})
    if token == "-twotheta_axis":
        x = values[0]
        return (f"the reference also reads -twotheta_axis {x:g} ... as -twotheta {x:g} (it matches flags by "
                f"substring): two-theta {x:g} deg about the sample pivot; --c-parity reproduces it",
                {"twotheta_deg": x, "pivot_from_flags": "sample"})
    if token == "-misset_seed" and len(argv) > at + 3:
        angles = tuple(c_atof(t) for t in argv[at + 1:at + 4])
        return ("the reference also reads -misset_seed and the next three arguments as -misset "
                + " ".join(f"{a:g}" for a in angles) + " (it matches flags by substring; give seeds first): "
                "fixed misset angles; --c-parity reproduces it",
                {"misset_deg": angles, "misset_random": False})
    return None


def _differs(a: SimulationOptions, b: SimulationOptions, names) -> bool:
    # the pivot implied by flags matters only to CUSTOM (named conventions fix their own)
    return any(getattr(a, n) != getattr(b, n) for n in names
               if n != "pivot_from_flags" or a.convention == "CUSTOM" or b.convention == "CUSTOM")


def parse_args(argv: list[str]) -> ParsedArgs:
    """Parse nanoBragg-style flags (exact names, reference synonyms) in order.

    Later flags override earlier ones, including the pivot and convention they
    imply, as in the reference.  With ``--c-parity`` anywhere, the reference's
    reading of some flags is reproduced too (:func:`_reference_reading`); without it,
    a note says where that reading would change the options.
    """
    c_parity = "--c-parity" in argv
    parsed, readings = _parse(argv, c_parity)
    if readings:
        theirs, _ = _parse(argv, True)
        parsed.notes += [note for note, changes in readings
                         if _differs(parsed.options, theirs.options, changes)]
    return parsed


def _parse(argv: list[str], c_parity: bool) -> tuple[ParsedArgs, list]:
    """One left-to-right pass; ``c_parity``: apply the reference's readings (:func:`_reference_reading`).

    Returns the result and, without ``c_parity``, the readings it left out.
    """
    index = flag_index()
    opts = SimulationOptions()
    parsed = ParsedArgs(options=opts)
    before = {name: getattr(opts, name) for name in SimulationOptions.field_names()}
    readings = []
    seen, where = _reference_positions(argv)
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in ("-h", "--help", "-help"):
            parsed.help = True
            i += 1
            continue
        if token in ("--version", "-version"):
            parsed.version = True
            i += 1
            continue
        at = i
        flag = index.get(token)
        if flag is None:
            if token.startswith("-") and not _is_number(token):
                hint = suggest(token)
                msg = f"unknown flag {token}" + (f"; did you mean {hint}?" if hint else "") + \
                    " (xbragg -h lists every flag)"
            else:
                msg = f"unexpected value {token!r}: it follows no flag that takes a value"
            raise InputError(msg)
        i += 1
        values = []
        if flag.nargs < 0:
            # up to |nargs| numeric values (-cell)
            while i < len(argv) and len(values) < -flag.nargs and _is_number(argv[i]):
                values.append(_parse_value(flag, token, argv[i]))
                i += 1
            if not values:
                raise InputError(f"expected 1 to {-flag.nargs} numbers", flag=token)
        else:
            if token == "-misset" and i < len(argv) and "rand" in argv[i]:
                # the reference takes any value containing "rand" as -misset random
                opts.misset_random = True
                opts.misset_deg = None
                i += 1
                continue
            if i + flag.nargs > len(argv):
                raise InputError(f"expects {flag.nargs} value{'s' if flag.nargs > 1 else ''}, "
                                 f"got {len(argv) - i}", flag=token)
            for _ in range(flag.nargs):
                values.append(_parse_value(flag, token, argv[i]))
                i += 1
        if flag.kind == "str":
            _check_choice(token, values[0])
        if flag.apply is not None:
            flag.apply(opts, parsed.settings, values)
        reading = _reference_reading(token, seen, where[at], values) if at in where else None
        if reading is not None:
            if c_parity:
                for name, value in reading[1].items():
                    setattr(opts, name, value)
            else:
                readings.append(reading)
    if opts.roi is not None:
        xmin, xmax, ymin, ymax = opts.roi
        if xmin > xmax or ymin > ymax:
            raise InputError(f"expected xmin <= xmax and ymin <= ymax, got {xmin} {xmax} {ymin} {ymax}",
                             flag="-roi")
    parsed.explicit = {name for name, value in before.items() if getattr(opts, name) != value}
    parsed.notes = parsed.settings.pop("notes", [])
    return parsed, readings


def help_text() -> str:
    """``xbragg -h``: examples, the subcommands, then every flag with its synonyms, units and
    default, from the flag table."""
    lines = ["usage: xbragg [flags]   (nanoBragg-compatible; flags are matched exactly)",
             "       xbragg SUBCOMMAND ...   (xbragg SUBCOMMAND -h for its options)", "", "examples:"]
    for comment, command in EXAMPLES:
        lines += [f"  # {comment}", f"  {command}"]
    lines += ["", "subcommands:"]
    width = max(len(name) for name in SUBCOMMANDS)
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in SUBCOMMANDS.items()]
    lines.append("")
    group = None
    for flag in FLAGS:
        if flag.group != group:
            group = flag.group
            lines.append(f"{group}:")
        args = {0: "", 1: " X", 2: " A B", 3: " X Y Z", 4: " A B C D"}.get(flag.nargs, " ...")
        names = ", ".join(n + args for n in flag.names)
        extra = []
        if flag.unit:
            extra.append(f"unit: {flag.unit}")
        if flag.default:
            extra.append(f"default: {flag.default}")
        tail = f" [{'; '.join(extra)}]" if extra else ""
        lines.append(f"  {names}\n      {flag.help}{tail}")
    lines.append("  -h, --help\n      this list")
    lines.append("  --version, -version\n      print the version and exit")
    return "\n".join(lines) + "\n"
