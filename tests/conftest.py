"""The tests' shared fixtures live in the repository's conftest.py (one level up).

There the session's datasets, trained models, saved files and registries are built once
and shared with the docstring examples of course_lib. Fixtures of one group of tests stay
next to them (tests/registry/conftest.py, tests/browser/conftest.py).
"""
