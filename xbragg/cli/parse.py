"""Turn an argument list into :class:`SimulationOptions` and run settings, or a clear error."""
from __future__ import annotations

import difflib
import math
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


def suggest(name: str) -> str | None:
    """The closest known flag spelling, for "did you mean" messages."""
    names = list(flag_index())
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return close[0]
    stripped = name.lstrip("-")
    for candidate in names:
        if candidate.lstrip("-").startswith(stripped) or stripped.startswith(candidate.lstrip("-")):
            return candidate
    return None


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


def parse_args(argv: list[str]) -> ParsedArgs:
    """Parse nanoBragg-style flags (exact names, reference synonyms) in order.

    Later flags override earlier ones, including the pivot and convention they
    imply, as in the reference.
    """
    index = flag_index()
    opts = SimulationOptions()
    parsed = ParsedArgs(options=opts)
    before = {name: getattr(opts, name) for name in SimulationOptions.field_names()}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in ("-h", "--help", "-help"):
            parsed.help = True
            i += 1
            continue
        if token == "--phi-carryover":
            opts.phi_carryover = True
            i += 1
            continue
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
    if opts.roi is not None:
        xmin, xmax, ymin, ymax = opts.roi
        if xmin > xmax or ymin > ymax:
            raise InputError(f"expected xmin <= xmax and ymin <= ymax, got {xmin} {xmax} {ymin} {ymax}",
                             flag="-roi")
    parsed.explicit = {name for name, value in before.items() if getattr(opts, name) != value}
    return parsed


def help_text() -> str:
    """``xbragg -h``: every flag with its synonyms, units and default, from the flag table."""
    lines = ["usage: xbragg [flags]   (nanoBragg-compatible; flags are matched exactly)", ""]
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
    lines.append("  --phi-carryover\n      reproduce the reference's phi carry-over: a step at exactly phi = 0 "
                 "reuses the last rotation computed before it [default: off, physically correct]")
    lines.append("  -h, --help\n      this list")
    return "\n".join(lines) + "\n"
