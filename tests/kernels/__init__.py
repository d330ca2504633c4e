"""Kernel tests, one file per op family, through the test shims in tests/native/."""
