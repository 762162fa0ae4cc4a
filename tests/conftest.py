"""Shared test settings.

Hypothesis profiles:
- `ci` (the default): seeded and derandomised (`derandomize=True`), so every run tries the
  same examples and a property test passes or fails the same way each time;
- `long`: random, many more examples, for hunting locally:
      python -m pytest tests/test_torch_property.py tests/test_fuzz.py --hypothesis-profile=long
"""

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
