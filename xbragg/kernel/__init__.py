"""Array-API physics: pure functions of arrays, no files, flags or backends.

Every function takes its namespace from its array arguments
(``array_api_compat.array_namespace``) and creates new arrays with the dtype
and device of its inputs, so the same code runs on NumPy, PyTorch and CuPy.
"""
