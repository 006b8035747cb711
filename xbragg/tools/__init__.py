"""Tools beside the simulator, each run as ``xbragg SUBCOMMAND ...``.

- :mod:`xbragg.tools.trace_diff` -- ``xbragg trace-diff REF OURS``: compare two one-pixel
  traces (reference ``TRACE_C`` or xbragg ``TRACE_PY`` lines) quantity by quantity and name
  the first one that diverges.
- :mod:`xbragg.tools.compare` -- ``xbragg compare ... -- FLAGS``: render FLAGS with xbragg and
  compare the float image with the reference program's (run, or stored).

Each module has ``main(argv) -> int`` (0 agree, 3 disagree, 2 bad input).
"""
