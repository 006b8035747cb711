"""``xbragg`` entry point: flags -> experiment -> render -> files and statistics."""
from __future__ import annotations

import sys

import numpy as np

from ..backends import BackendError, to_numpy
from ..errors import XbraggError
from ..io.atomic import check_writable
from ..io.rawfloat import write_float_image
from ..render import DEFAULT_MEMORY_BUDGET_BYTES, render, roi_bounds
from ..setup.experiment import build_experiment
from ..stats import image_stats
from .parse import help_text, parse_args
from .progress import progress_for
from .report import print_setup, print_stats


def run(argv: list[str], out=None) -> int:
    """Run the command line on ``argv`` (without the program name); returns the exit status."""
    out = out or sys.stdout
    parsed = parse_args(argv)
    if parsed.help:
        out.write(help_text())
        return 0
    settings = parsed.settings
    floatfile = settings.get("floatfile", "floatimage.bin")
    check_writable(floatfile)
    exp = build_experiment(parsed.options, explicit=parsed.explicit)
    print_setup(exp, out)
    budget = int(settings.get("memory_budget_mib", DEFAULT_MEMORY_BUDGET_BYTES / 2**20) * 2**20)
    result = render(exp, backend=settings.get("backend", "numpy"), device=settings.get("device"),
                    dtype=settings.get("dtype", "float64"), memory_budget_bytes=budget,
                    progress=progress_for(settings.get("progress", True)))
    if result.interpolation_fell_back:
        h, k, l = result.fallback_hkl
        out.write(f"WARNING: out of range for three point interpolation: h,k,l: {h:g},{k:g},{l:g}\n"
                  "WARNING: further warnings will not be printed! \n")
    image32 = to_numpy(result.image).astype(np.float32)
    stats = image_stats(image32, roi_bounds(exp), exp.mask, pixel_size_m=exp.detector.pixel_size_m,
                        oversample=exp.oversample)
    out.write(f"writing {floatfile} as {image32.size} 4-byte floats\n")
    write_float_image(floatfile, image32)
    print_stats(stats, out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: errors become one message on stderr and exit status 2."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        return run(argv)
    except (XbraggError, BackendError) as exc:
        sys.stderr.write(f"xbragg: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("xbragg: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
