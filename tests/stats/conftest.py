from tests.synth.conftest import synth  # noqa: F401 (the synthetic generator fixture)
