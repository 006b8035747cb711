"""Files to plain host-side values and back (HKL, Fdump.bin, matrices, sources, SMV, raw floats, NXmx, miniCBF)."""
from xbragg.io.atomic import atomic_write_bytes, check_writable
from xbragg.io.cbf import write_cbf
from xbragg.io.cformat import format_e, format_f, format_g, format_lg
from xbragg.io.hkl import HKLTable, read_fdump, read_hkl, write_fdump
from xbragg.io.matrix import read_mosflm_matrix
from xbragg.io.nexus import write_nexus
from xbragg.io.pgm import write_pgm
from xbragg.io.rawfloat import read_float_image, write_float_image
from xbragg.io.smv import SMVImage, header_float, read_smv, write_smv
from xbragg.io.sources import read_source_file

__all__ = [
    "atomic_write_bytes", "check_writable",
    "format_e", "format_f", "format_g", "format_lg",
    "HKLTable", "read_hkl", "read_fdump", "write_fdump",
    "read_mosflm_matrix",
    "write_nexus", "write_cbf",
    "write_pgm",
    "read_float_image", "write_float_image",
    "SMVImage", "header_float", "read_smv", "write_smv",
    "read_source_file",
]
