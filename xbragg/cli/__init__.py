"""The ``xbragg`` command line: nanoBragg's flags, outputs and statistics."""
