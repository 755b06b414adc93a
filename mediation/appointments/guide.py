"""The public guide of places: search by commune (name or postal code) with distance, service,
public, accessibility, « ouvert maintenant » and free of charge; a place's public card.

Built for a département's scale: one query reads the candidate places inside a bounding box of the
radius (coordinates of the place, else of its commune), the exact distance and the filters on the
national schema lists are then computed in memory (``bench/guide_search.py`` measures it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mediation.appointments.models import AppointmentOffer, AssessmentStatus, ServiceAssessment
from mediation.appointments.slots import is_open, parse_hours
from mediation.directory.models import Commune, Structure
from mediation.pathways.referrals import haversine_km, horaires_fr
from mediation.search import fold_text, folded
from mediation.types import utcnow

RADII_KM = (2, 5, 10, 20, 50)
DEFAULT_RADIUS_KM = 10
MAX_RESULTS = 50


@dataclass
class GuideQuery:
    where: str = ""
    radius_km: int = DEFAULT_RADIUS_KM
    service: str | None = None
    public: str | None = None
    accessibility: str | None = None
    open_now: bool = False
    free_only: bool = False


@dataclass
class Place:
    structure: Structure
    distance_km: float | None
    open_now: bool
    takes_appointments: bool = False
    levels: dict[str, ServiceAssessment] = field(default_factory=dict)

    @property
    def distance_label(self) -> str:
        if self.distance_km is None:
            return ""
        if self.distance_km < 1:
            return f"{round(self.distance_km * 1000, -1):.0f} m"
        return f"{self.distance_km:.1f} km".replace(".", ",")

    @property
    def horaires(self) -> str | None:
        return horaires_fr(self.structure.horaires)


def find_communes(session: Session, where: str) -> list[Commune]:
    """Communes named or served by what the visitor typed (« 76000 », « Rouen », « rouen 76100 »)."""
    text = (where or "").strip()
    if not text:
        return []
    postal = re.search(r"\b\d{5}\b", text)
    name = re.sub(r"\b\d{5}\b", "", text).strip(" ,")
    query = sa.select(Commune).where(Commune.latitude.is_not(None))
    if postal:
        code = postal.group(0)
        candidates = [c for c in session.scalars(query.where(sa.or_(
            Commune.postal_code == code, sa.cast(Commune.postal_codes, sa.String).contains(code))).limit(50))
            if code == c.postal_code or code in (c.postal_codes or [])]
        if name:
            candidates = [c for c in candidates if fold_text(name) in fold_text(c.name)] or candidates
        return sorted(candidates, key=lambda c: -(c.population or 0))
    key = re.sub(r"[-'’\s]+", " ", fold_text(name)).strip()  # « saint-etienne » = « Saint Étienne »
    spaced = sa.func.replace(sa.func.replace(folded(Commune.name), "-", " "), "'", " ")
    exact = list(session.scalars(query.where(spaced == key).limit(10)))
    if exact:
        return sorted(exact, key=lambda c: -(c.population or 0))
    return list(session.scalars(query.where(spaced.like(f"{key}%"))
                                .order_by(Commune.population.desc().nulls_last(), Commune.name).limit(10)))


def _published_levels(session: Session, structure_ids: list[int]) -> dict[int, dict[str, ServiceAssessment]]:
    result: dict[int, dict[str, ServiceAssessment]] = {}
    for start in range(0, len(structure_ids), 900):
        for item in session.scalars(sa.select(ServiceAssessment).where(
                ServiceAssessment.structure_id.in_(structure_ids[start:start + 900]),
                ServiceAssessment.status == AssessmentStatus.PUBLISHED)):
            result.setdefault(item.structure_id, {})[item.service] = item
    return result


def search(session: Session, origin: Commune, query: GuideQuery, *, now: datetime | None = None) -> list[Place]:
    """Places within ``query.radius_km`` of the commune, nearest first, matching every filter."""
    now = now or utcnow()
    lat0, lon0 = origin.latitude, origin.longitude
    dlat = query.radius_km / 111.0
    dlon = query.radius_km / (111.0 * max(0.1, math.cos(math.radians(lat0))))
    lat = sa.func.coalesce(Structure.latitude, Commune.latitude)
    lon = sa.func.coalesce(Structure.longitude, Commune.longitude)
    rows = session.execute(
        sa.select(Structure, lat, lon).join(Commune, Commune.id == Structure.commune_id)
        .where(Structure.archived_at.is_(None), lat.between(lat0 - dlat, lat0 + dlat),
               lon.between(lon0 - dlon, lon0 + dlon))
        .options(joinedload(Structure.commune))).all()
    found: list[Place] = []
    for structure, s_lat, s_lon in rows:
        if query.service and query.service not in (structure.services or []):
            continue
        if query.public and query.public not in (structure.publics or []):
            continue
        if query.accessibility and query.accessibility not in (structure.prise_en_charge or []):
            continue
        if query.free_only and "Gratuit" not in (structure.frais or []):
            continue
        distance = haversine_km(lat0, lon0, s_lat, s_lon)
        if distance > query.radius_km:
            continue
        open_now = is_open(parse_hours(structure.horaires), now)
        if query.open_now and not open_now:
            continue
        found.append(Place(structure, distance, open_now))
    found.sort(key=lambda p: (p.distance_km, p.structure.name))
    found = found[:MAX_RESULTS]
    ids = [p.structure.id for p in found]
    levels = _published_levels(session, ids)
    with_offers = set(session.scalars(sa.select(AppointmentOffer.structure_id).where(
        AppointmentOffer.structure_id.in_(ids), AppointmentOffer.active.is_(True)))) if ids else set()
    for place in found:
        place.levels = levels.get(place.structure.id, {})
        place.takes_appointments = place.structure.id in with_offers
    return found


def public_place(session: Session, structure_id: int) -> Structure | None:
    return session.scalar(sa.select(Structure).where(Structure.id == structure_id, Structure.archived_at.is_(None))
                          .options(joinedload(Structure.commune)))


def places_of_commune(session: Session, commune: Commune) -> list[Structure]:
    """The printable list: the places of the commune, by name."""
    return list(session.scalars(sa.select(Structure).where(Structure.commune_id == commune.id,
                                                           Structure.archived_at.is_(None))
                                .order_by(Structure.name)))


def published_levels_of(session: Session, structure_id: int) -> list[ServiceAssessment]:
    return list(session.scalars(sa.select(ServiceAssessment).where(
        ServiceAssessment.structure_id == structure_id, ServiceAssessment.status == AssessmentStatus.PUBLISHED)
        .order_by(ServiceAssessment.service)))
