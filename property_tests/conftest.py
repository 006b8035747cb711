"""Hypothesis profiles: ``ci`` (default, bounded time) and ``thorough`` (local).

Select with ``HYPOTHESIS_PROFILE=thorough python -m pytest property_tests``.

- ``ci``: 100 examples per test, derandomized (the same examples on every run, so a
  failure is reproducible and the xfail(strict) markers are stable), no example
  database; the whole directory runs in about 35 s on 2 cores.
- ``thorough``: 300 fresh random examples per test, with the example database
  (failures are replayed first on the next run); about 3 minutes on 2 cores.
"""
import os
import sys

from hypothesis import HealthCheck, settings

# the strategies module lives beside the tests (property_tests/ is not a package)
sys.path.insert(0, os.path.dirname(__file__))

settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
