"""National-scale synthetic data: ``flask --app mediation synth --accompaniments N``.

:mod:`mediation.synth.generator` produces the rows (seeded, streamed, realistic distributions from
:mod:`mediation.synth.reference`); :mod:`mediation.synth.loader` writes them fast (COPY on
PostgreSQL, executemany on SQLite) and makes the derived data exact (counters, case states,
statistics rollups).
"""

from mediation.synth.generator import SynthError, SynthOptions
from mediation.synth.loader import SynthReport, load

__all__ = ["SynthError", "SynthOptions", "SynthReport", "load"]
