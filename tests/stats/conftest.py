from tests.evaluation.conftest import build  # noqa: F401 (hand-built activities: test_snapshots.py)
from tests.synth.conftest import synth  # noqa: F401 (the synthetic generator fixture)
