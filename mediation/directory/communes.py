"""Resolving communes named by imported data against the official reference.

``resolve_codes`` gives the stored commune of each INSEE code; a commune of the reference that is
not stored yet (outside every territory of the network) is inserted "reference-only"
(``territory_id`` null) so that a residence or a place there is kept as it is, neither refused nor
moved to another commune. Territory scopes filter on ``territory_id`` and never see these rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.directory.models import Commune
from mediation.directory.reference import ReferenceCommune, clean_postal, fold_name, reference

CHUNK = 1000


def _stored(session: Session, codes: list[str]) -> dict[str, Commune]:
    found: dict[str, Commune] = {}
    for start in range(0, len(codes), CHUNK):
        for commune in session.scalars(sa.select(Commune).where(Commune.insee_code.in_(codes[start:start + CHUNK]))):
            found[commune.insee_code] = commune
    return found


def _row(commune: ReferenceCommune) -> dict:
    return {"insee_code": commune.insee_code, "name": commune.name, "territory_id": None,
            "population": commune.population, "postal_codes": list(commune.postal_codes),
            "postal_code": commune.postal_codes[0] if commune.postal_codes else None,
            "latitude": commune.latitude, "longitude": commune.longitude}


def _insert_reference(session: Session, communes: list[ReferenceCommune]) -> None:
    """Store reference communes (idempotent: a concurrent import storing the same one is fine)."""
    rows = [_row(c) for c in communes]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(Commune).values(rows).on_conflict_do_nothing(index_elements=["insee_code"]))


def resolve_codes(session: Session, codes: Iterable[str | None], *, store: bool = True) -> dict[str, Commune]:
    """The commune of each INSEE code (as written, former codes included), keyed by the code given.

    Codes unknown to the network but known to the reference are stored reference-only when ``store``
    (otherwise given unsaved, id None); codes unknown to both are absent from the result."""
    wanted = {(c or "").strip().upper() for c in codes} - {""}
    wanted = {("0" + c if len(c) == 4 and c.isdigit() else c): c for c in wanted}
    found = _stored(session, sorted(wanted))  # a code the network stores is taken as it is
    ref = reference()
    current = {code: code if code in found else (ref.get(code).insee_code if ref.get(code) else code)
               for code in wanted}
    found.update(_stored(session, sorted(set(current.values()) - set(found))))
    missing = [ref.get(code) for code in set(current.values()) - set(found) if ref.get(code)]
    if missing and store:
        _insert_reference(session, missing)
        found.update(_stored(session, sorted({c.insee_code for c in missing})))
    elif missing:  # unsaved (transient, id None): never added to the session
        found.update({c.insee_code: Commune(**_row(c)) for c in missing})
    result = {}
    for code, given in wanted.items():
        commune = found.get(current[code])
        if commune is not None:
            result[given] = result[code] = commune
    return result


def postal_codes_of(commune: Commune) -> set[str]:
    """Every postal code of a commune: those stored and those of the official reference."""
    codes = set(commune.postal_codes or ()) | ({commune.postal_code} if commune.postal_code else set())
    official = reference().get(commune.insee_code)
    return codes | set(official.postal_codes if official else ())


def has_postal_code(commune: Commune, postal_code: str | None) -> bool:
    postal = clean_postal(postal_code)
    return postal is not None and postal in postal_codes_of(commune)


def names_match(commune: Commune, name: str | None) -> bool:
    """« Rouen », « ROUEN », « St-Étienne » for « Saint-Étienne »; « Marseille » for an arrondissement."""
    key = fold_name(name)
    if key == fold_name(commune.name):
        return True
    official = reference().get(commune.insee_code)
    parent = reference().get(official.arrondissement_of) if official and official.arrondissement_of else None
    return parent is not None and key == fold_name(parent.name)


def find_code(name: str | None, postal_code: str | None) -> str | None:
    """The INSEE code of the one commune of that name and postal code (or of a postal code serving one
    commune only); None when unknown or ambiguous."""
    found = reference().find(name, postal_code)
    return found.insee_code if found else None


def candidates_for_postal_code(postal_code: str | None) -> list[ReferenceCommune]:
    return reference().for_postal_code(postal_code)
