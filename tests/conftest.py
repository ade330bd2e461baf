"""Suite-wide settings: property tests draw the same examples on every run (derandomized Hypothesis),
so a landing never depends on a lucky or unlucky draw. Set HYPOTHESIS_PROFILE=explore to draw fresh
random examples locally when hunting for bugs."""
import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
