"""Array-API physics: pure functions of arrays, no files, flags or backends.

Every function takes the kernel namespace as the keyword ``xp``
(:func:`xbragg.backends.kernel_namespace`: the array API plus the helpers whose
fastest form depends on the backend, such as ``xp.clamp``), looked up from its
array arguments when not given; the renderer passes it down from one lookup per
render.  New arrays take the dtype and device of the inputs, so the same code
runs on NumPy, PyTorch and CuPy.
"""
