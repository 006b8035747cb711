"""Array-API physics: pure functions of arrays, no files, flags or backends.

Every function takes the kernel namespace as the keyword ``xp``
(:func:`xbragg.backends.kernel_namespace`: the array API plus the helpers whose
fastest form depends on the backend, such as ``xp.clamp``), looked up from its
array arguments when not given; the renderer passes it down from one lookup per
render.  The rotations of :mod:`.vectors`, which the set-up's geometry
(:mod:`xbragg.setup.geometry`) calls too, take it as their first argument, as
that module's functions do.  New arrays take the dtype and device of the inputs, so the same code
runs on NumPy, PyTorch and CuPy.
"""
