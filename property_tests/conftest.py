"""Hypothesis profiles: ``ci`` (default, bounded time) and ``thorough`` (local).

Select with ``HYPOTHESIS_PROFILE=thorough python -m pytest property_tests``.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
