"""Public guide search at a département's scale: ~3,000 places in ~300 communes (synthetic, around
Rouen), SQLite in a temporary directory; prints the median and worst time of a search by commune
(10 km, one service; opening hours are read for every candidate) and of the commune lookup. Run: ``python -m bench.guide_search``.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

PLACES = 3000
COMMUNES = 300


def main() -> None:
    from flask_migrate import upgrade

    from mediation import create_app
    from mediation.appointments import guide
    from mediation.directory.models import Commune, Structure, Territory, TerritoryKind
    from mediation.directory.national_schema import SERVICES
    from mediation.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="bench-guide-"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'guide.sqlite3'}",
                      "SECRET_KEY": "bench", "MEDIATION_ENV": "test", "MEDIATION_OUTBOX_DIR": str(tmp)})
    rng = random.Random(76)  # noqa: S311 - synthetic data
    with app.app_context():
        upgrade()
        territory = Territory(name="Département synthétique", kind=TerritoryKind.DEPARTEMENT)
        db.session.add(territory)
        communes = []
        for n in range(COMMUNES):
            commune = Commune(territory=territory, insee_code=f"76{n:03d}", name=f"Commune {n}",
                              postal_code=f"76{n % 1000:03d}", postal_codes=[f"76{n % 1000:03d}"],
                              latitude=49.0 + rng.random() * 0.9, longitude=0.4 + rng.random() * 1.4,
                              population=rng.randint(200, 100_000))
            communes.append(commune)
        db.session.add_all(communes)
        db.session.flush()
        for n in range(PLACES):
            commune = rng.choice(communes)
            db.session.add(Structure(
                name=f"Lieu {n}", commune=commune, address=f"{n} rue du Test",
                latitude=commune.latitude + rng.uniform(-0.02, 0.02), longitude=commune.longitude + rng.uniform(-0.02, 0.02),
                services=rng.sample(SERVICES, 3), publics=[], prise_en_charge=[], frais=["Gratuit"],
                horaires="Mo-Fr 09:00-12:30,13:30-17:30" if n % 2 else "Tu-Sa 10:00-18:00"))
        db.session.commit()
        codes = [communes[n * 5].postal_code for n in range(50)]
        db.session.expunge_all()
        lookups, searches, found = [], [], []
        for code in codes:
            t0 = time.perf_counter()
            origin = guide.find_communes(db.session, code)[0]
            t1 = time.perf_counter()
            results = guide.search(db.session, origin, guide.GuideQuery(radius_km=10, service=SERVICES[0],
                                                                        open_now=False))
            t2 = time.perf_counter()
            lookups.append((t1 - t0) * 1000)
            searches.append((t2 - t1) * 1000)
            found.append(len(results))
            db.session.expunge_all()
    print(f"Guide : {PLACES} lieux, {COMMUNES} communes (SQLite)")
    print(f"  commune par code postal : médiane {statistics.median(lookups):.1f} ms, pire {max(lookups):.1f} ms")
    print(f"  recherche 10 km + service : médiane {statistics.median(searches):.1f} ms, "
          f"pire {max(searches):.1f} ms, {statistics.median(found):.0f} lieux trouvés en médiane")


if __name__ == "__main__":
    main()
