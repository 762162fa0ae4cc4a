"""Shared test settings.

Markers: `slow` (a test that runs for more than a few seconds, such as `check --device meta` on
every member of a family) is skipped unless pytest is given `--slow`.

Hypothesis profiles:
- `ci` (the default): seeded and derandomised (`derandomize=True`), so every run tries the
  same examples and a property test passes or fails the same way each time;
- `long`: random, many more examples, for hunting locally:
      python -m pytest tests/test_torch_property.py tests/test_fuzz.py --hypothesis-profile=long

Tests marked `@pytest.mark.slow` (seconds each, such as `check --device meta` on every member
of a family) are skipped unless asked for: `python -m pytest --slow`.
"""

import pytest


def pytest_addoption(parser):
    parser.addoption("--slow", "--run-slow", action="store_true", dest="slow",
                     help="also run the tests marked slow")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs for more than a few seconds; skipped unless --slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test extra; tests that need it skip themselves
    pass
else:
    settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("long", max_examples=5000, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("ci")

