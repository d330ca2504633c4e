"""Test-wide settings: every random corpus is reproducible on any machine."""
from hypothesis import settings

# Hypothesis draws from a seed derived from each test's name instead of a fresh random one, so a
# failure reproduces by rerunning the same test; no example database is read or written, so a
# run does not depend on what an earlier run on this machine happened to find.
settings.register_profile("reproducible", derandomize=True, database=None, print_blob=True)
settings.load_profile("reproducible")
