"""Hypothesis profiles: a modest number of examples locally, many in CI.

Property tests that set no `max_examples` of their own (the differential tests of the fast
paths, tests/train/test_fastpath_properties.py) take it from the profile:

- "dev" (the default): quick enough to run while working;
- "ci": many more examples, for the runs that guard main (`.ci/run` sets it).

Choose with the environment variable HYPOTHESIS_PROFILE=dev|ci; without it, a CI service
(which sets CI=true) gets "ci".
"""

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=30)
settings.register_profile("ci", max_examples=600, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI", "").lower() in ("1", "true") else "dev"))
