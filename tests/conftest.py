"""Shared test settings.

Hypothesis profiles: `ci` (the default) keeps property tests bounded; run more examples
with `pytest --hypothesis-profile=long`.
"""

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test extra; tests that need it skip themselves
    pass
else:
    settings.register_profile("ci", max_examples=150, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("long", max_examples=5000, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("ci")
