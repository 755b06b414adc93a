"""The observatoire: need against coverage, commune by commune (docs/observatoire.md).

For the communes of the coverage table (« Activité par commune »), a server-side SVG map —
proportional symbols at the communes' centres (no outlines are shipped: see
docs/communes-reference.md) — and its data table, the accessible alternative:

- fill: the level of need (third of the territory's communes, on the first need indicator imported:
  digital fragility index, else poverty rate, else share of people aged 75 and over);
- size: accompaniments per 1,000 inhabitants, as published in the coverage table (a hidden value
  draws a small dashed ring, never its true size);
- squares: the places (active structures of the network) with their position;
- red ring: a commune of high need with no place within :data:`DISTANCE_KM` (great-circle distance
  from its centre to the place's position).

No new count is published: the per-1,000 figures are the cells of the coverage table after the
disclosure control of the whole output (:mod:`mediation.evaluation.disclosure`), copied with their
masks; places, their services, populations and distances are public.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field

import sqlalchemy as sa
from markupsafe import Markup, escape

from mediation.directory.models import Commune, CommuneNeed, Structure
from mediation.evaluation.method import NOT_COMPUTED, fmt_number
from mediation.evaluation.results import Cell, Dashboard

DISTANCE_KM = 10.0
# The places read for a territory: those within REACH_KM of one of its communes (the map draws those
# within DISTANCE_KM of its frame); a commune whose nearest place is farther is measured against all.
REACH_KM = 50.0
EARTH_RADIUS_KM = 6371.0088
LEVELS = ("faible", "moyen", "élevé")
FILLS = {"faible": "#deebf7", "moyen": "#8fb3d3", "élevé": "#1d4f73", None: "#ffffff"}
INK = "#1b1b1b"
ALERT = "#b3261e"
PLACE = "#1b1b1b"
WIDTH = 640
MAX_LABELS = 12
# attribute of CommuneNeed → (column title, short label for the map's legend), in order of preference
NEED_INDICATORS = {
    "fragility_index": ("Indice de fragilité numérique", "l’indice de fragilité numérique"),
    "poverty_rate": ("Taux de pauvreté (%)", "le taux de pauvreté"),
    "share_75_plus": ("Part des 75 ans et plus (%)", "la part des 75 ans et plus"),
}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS 84 points, in kilometres (spherical Earth)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class NearestPlace:
    """Distance from a point to the nearest place (:func:`haversine_km`), the same value as the
    minimum over every place, without measuring them all: places are searched outwards in latitude,
    and the search stops when the latitude gap alone is farther than the best distance found (the
    great-circle distance is at least the meridian distance R·|Δφ|). A territory's communes against
    a national network's places: a few dozen distances each instead of every place."""

    KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180

    def __init__(self, points: list[tuple[float, float]]):
        self.points = sorted(points)
        self.latitudes = [lat for lat, _lon in self.points]

    def km(self, lat: float, lon: float) -> float | None:
        if not self.points:
            return None
        below, above = bisect_left(self.latitudes, lat) - 1, bisect_left(self.latitudes, lat)
        best = math.inf
        while below >= 0 or above < len(self.points):
            gap_below = lat - self.latitudes[below] if below >= 0 else math.inf
            gap_above = self.latitudes[above] - lat if above < len(self.points) else math.inf
            if gap_below <= gap_above:
                index, gap, below = below, gap_below, below - 1
            else:
                index, gap, above = above, gap_above, above + 1
            if gap * self.KM_PER_DEGREE > best + 1e-9:  # every place left is at least this far
                break
            best = min(best, haversine_km(lat, lon, *self.points[index]))
        return best


def need_levels(values: dict[str, float]) -> dict[str, str]:
    """Thirds of the communes by need value (ties share a level): key → faible, moyen or élevé."""
    ordered = sorted(values.values())
    n = len(ordered)
    return {key: LEVELS[min(2, 3 * bisect_left(ordered, value) // n)] for key, value in values.items()} if n else {}


@dataclass
class Place:
    name: str
    commune: str
    latitude: float
    longitude: float


@dataclass
class CommuneView:
    insee: str
    name: str
    population: int | None
    latitude: float | None
    longitude: float | None
    needs: dict[str, float | None]
    level: str | None
    places: int
    services: int
    nearest_km: float | None
    per_1000: Cell  # accompaniments per 1,000 inhabitants, as published
    residents_per_1000: Cell
    flagged: bool  # high need, no place within DISTANCE_KM


@dataclass
class Observatoire:
    communes: list[CommuneView]
    places: list[Place]
    indicator: str | None  # the CommuneNeed attribute that sets the level
    shown: list[str] = field(default_factory=list)  # the need attributes with a value somewhere
    illustrative: bool = False
    sources: list[str] = field(default_factory=list)
    distance_km: float = DISTANCE_KM
    # The table's rows when not every commune (the impact PDF: see mediation.evaluation.report),
    # and the sentence naming the others with their values; the map always draws every commune.
    table_rows: list[CommuneView] | None = None
    table_note: str | None = None
    # The indexes (in columns() and cells()) of the table's columns when not all (the impact PDF
    # leaves out the columns the coverage table prints for the same communes).
    table_columns: list[int] | None = None

    @property
    def flagged(self) -> list[CommuneView]:
        return [c for c in self.communes if c.flagged]

    @property
    def unplaced(self) -> list[CommuneView]:
        return [c for c in self.communes if c.latitude is None or c.longitude is None]

    @property
    def rows(self) -> list[CommuneView]:
        """The communes of the table."""
        return self.communes if self.table_rows is None else self.table_rows

    # for the templates (the same markup on the dashboard and in the PDF)
    @property
    def indicator_phrase(self) -> str:
        return NEED_INDICATORS[self.indicator][1] if self.indicator else "l’indicateur importé (aucun pour l’instant)"

    def svg(self) -> Markup | None:
        return map_svg(self)

    def columns(self) -> list[str]:
        return columns(self)

    def cells(self, commune: CommuneView) -> list[tuple[str, bool]]:
        return row_cells(self, commune)

    def table_header(self) -> list[str]:
        """The table's value columns (all of :meth:`columns` but where ``table_columns`` says)."""
        names = self.columns()
        return names if self.table_columns is None else [names[i] for i in self.table_columns]

    def table_cells(self, commune: CommuneView) -> list[tuple[str, bool]]:
        cells = self.cells(commune)
        return cells if self.table_columns is None else [cells[i] for i in self.table_columns]


def _reach(positions: list[tuple[float, float]]) -> tuple[float, float, float, float] | None:
    """(south, north, west, east) of the communes' positions widened so that every place outside is
    more than REACH_KM from each of them (None without positions). In latitude, REACH_KM of meridian
    (a great-circle distance is at least R·|Δφ|); in longitude, for points of the latitude band
    (cosines at least ``c``), haversine gives sin(d/2R) ≥ c·sin(Δλ/2), hence the margin
    2·asin(sin(REACH_KM/2R)/c)."""
    if not positions:
        return None
    lats = [lat for lat, _ in positions]
    lons = [lon for _, lon in positions]
    pad = REACH_KM / NearestPlace.KM_PER_DEGREE
    south, north = min(lats) - pad, max(lats) + pad
    c = math.cos(math.radians(min(89.0, max(abs(south), abs(north)))))
    ratio = math.sin(REACH_KM / (2 * EARTH_RADIUS_KM)) / c
    if ratio >= 1:  # near a pole: no useful margin in longitude
        return south, north, -180.0, 180.0
    margin = math.degrees(2 * math.asin(ratio))
    return south, north, min(lons) - margin, max(lons) + margin


def _places(session, box: tuple[float, float, float, float] | None) -> list[Place]:
    """The active places (structures) with a position (their own, else their commune's), in
    ``box`` (south, north, west, east) when given: only the columns drawn (whole rows decoded ~4
    JSON columns each; the services are counted for the communes of the table only)."""
    has_own = sa.and_(Structure.latitude.is_not(None), Structure.longitude.is_not(None))
    lat = sa.case((has_own, Structure.latitude), else_=Commune.latitude)
    lon = sa.case((has_own, Structure.longitude), else_=Commune.longitude)
    query = (sa.select(Structure.name, Commune.name, lat, lon).join(Commune, Commune.id == Structure.commune_id)
             .where(Structure.archived_at.is_(None), lat.is_not(None), lon.is_not(None)).order_by(Structure.name))
    if box is not None:
        south, north, west, east = box
        query = query.where(lat.between(south, north), lon.between(west, east))
    return [Place(name, commune, latitude, longitude) for name, commune, latitude, longitude in session.execute(query)]


def build(session, dashboard: Dashboard) -> Observatoire | None:
    """The observatoire of the dashboard's coverage table (None when there is none)."""
    table = dashboard.table("maillage.communes")
    if table is None or not table.rows:
        return None
    rows = {r.key: r for r in table.rows}
    # The columns read (rows, not ORM objects: a territory has hundreds of communes).
    communes = {c.insee_code: c for c in session.execute(
        sa.select(Commune.id, Commune.insee_code, Commune.population, Commune.latitude, Commune.longitude)
        .where(Commune.insee_code.in_(list(rows))))}
    needs = {n.commune_id: n for n in session.execute(
        sa.select(CommuneNeed.commune_id, CommuneNeed.source, CommuneNeed.illustrative,
                  *[getattr(CommuneNeed, attr) for attr in NEED_INDICATORS])
        .where(CommuneNeed.commune_id.in_([c.id for c in communes.values()] or [-1])))}
    positions = [(c.latitude, c.longitude) for c in communes.values()
                 if c.latitude is not None and c.longitude is not None]
    places = _places(session, _reach(positions))
    nearest_place = NearestPlace([(p.latitude, p.longitude) for p in places])
    everywhere: list[NearestPlace] = []  # every place of the network, read only if one commune needs it
    places_in: dict[str, int] = {}
    services_in: dict[str, set[str]] = {}
    for services, insee in session.execute(
            sa.select(Structure.services, Commune.insee_code).join(Commune, Commune.id == Structure.commune_id)
            .where(Structure.archived_at.is_(None), Commune.insee_code.in_(list(rows)))):
        places_in[insee] = places_in.get(insee, 0) + 1
        services_in.setdefault(insee, set()).update(services or [])
    stored = [needs[c.id] for c in communes.values() if c.id in needs]
    shown = [attr for attr in NEED_INDICATORS if any(getattr(n, attr) is not None for n in stored)]
    indicator = shown[0] if shown else None
    values = {}
    if indicator:
        values = {insee: getattr(needs[c.id], indicator) for insee, c in communes.items()
                  if c.id in needs and getattr(needs[c.id], indicator) is not None}
    levels = need_levels(values)
    views = []
    for insee, row in rows.items():
        commune = communes.get(insee)
        lat = commune.latitude if commune is not None else None
        lon = commune.longitude if commune is not None else None
        nearest = nearest_place.km(lat, lon) if lat is not None and lon is not None else None
        if lat is not None and lon is not None and (nearest is None or nearest > REACH_KM):
            # A place farther than REACH_KM may lie outside the area read: measured against all.
            if not everywhere:
                everywhere.append(NearestPlace([(p.latitude, p.longitude) for p in _places(session, None)]))
            nearest = everywhere[0].km(lat, lon)
        need = needs.get(commune.id) if commune is not None else None
        level = levels.get(insee)
        flagged = level == "élevé" and nearest is not None and nearest > DISTANCE_KM
        views.append(CommuneView(
            insee, row.label, commune.population if commune is not None else None, lat, lon,
            {attr: getattr(need, attr) if need is not None else None for attr in shown}, level,
            places_in.get(insee, 0), len(services_in.get(insee, set())), nearest,
            row.cells[4], row.cells[5], flagged))
    return Observatoire(views, places, indicator, shown, any(n.illustrative for n in stored),
                        sorted({n.source for n in stored if n.source}))


# --- presentation ---------------------------------------------------------------------------------

def columns(obs: Observatoire) -> list[str]:
    return (["Besoin"] + [NEED_INDICATORS[a][0] for a in obs.shown]
            + ["Lieux", "Services différents", "Lieu le plus proche (km)", "Accompagnements pour 1 000 hab.",
               "Résidents accompagnés pour 1 000 hab.", f"Besoin élevé sans lieu à moins de {fmt_number(obs.distance_km)} km"])


def row_cells(obs: Observatoire, c: CommuneView) -> list[tuple[str, bool]]:
    """The displayed cells of a commune's row: (text, hidden)."""
    cells = [(c.level or "non renseigné", False)]
    for attr in obs.shown:
        value = c.needs.get(attr)
        cells.append((NOT_COMPUTED if value is None else fmt_number(value, 1), False))
    cells += [
        (fmt_number(c.places), False), (fmt_number(c.services), False),
        (NOT_COMPUTED if c.nearest_km is None else fmt_number(c.nearest_km, 1), False),
        (c.per_1000.display, c.per_1000.hidden), (c.residents_per_1000.display, c.residents_per_1000.hidden),
        ("oui" if c.flagged else "non", False),
    ]
    return cells


def _project(obs: Observatoire, width: float, height: float, margin: float):
    points = [(c.latitude, c.longitude) for c in obs.communes if c.latitude is not None and c.longitude is not None]
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    # places within reach of the territory are drawn too (a place just across the border counts)
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    pad = DISTANCE_KM / 111.0
    kx = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * kx, 0.02)
    span_y = max(north - south, 0.02)
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    used_w, used_h = span_x * scale, span_y * scale
    off_x, off_y = (width - used_w) / 2, (height - used_h) / 2

    def xy(lat, lon):
        return off_x + (lon - west) * kx * scale, off_y + (north - lat) * scale

    def inside(lat, lon):
        return south - pad <= lat <= north + pad and west - pad / kx <= lon <= east + pad / kx

    return xy, inside


def map_svg(obs: Observatoire) -> Markup | None:
    """The map (None when no commune has a position)."""
    placed = [c for c in obs.communes if c.latitude is not None and c.longitude is not None]
    if not placed:
        return None
    map_h = 420
    legend_h = 124
    height = map_h + legend_h
    xy, inside = _project(obs, WIDTH, map_h, 36)
    largest = max((c.per_1000.value or 0 for c in placed if not c.per_1000.hidden), default=0)
    body = [f'<rect x="0" y="0" width="{WIDTH}" height="{map_h}" fill="#f7f7f7" stroke="{GRID}"/>']
    radius = {}
    # The attributes every symbol shares are set once on a group (hundreds of communes and places
    # at a national scale: the map was the heaviest part of the dashboard page).
    body.append(f'<g stroke="{INK}" stroke-width="1">')
    for c in sorted(placed, key=lambda c: -(c.per_1000.value or 0)):  # small symbols on top
        x, y = xy(c.latitude, c.longitude)
        fill = FILLS[c.level]
        if c.per_1000.hidden:
            radius[c.insee] = 6
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{fill}" stroke-dasharray="2 2"/>')
        else:
            value = c.per_1000.value or 0
            r = radius[c.insee] = 4 + 16 * math.sqrt(value / largest) if largest else 4
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" fill-opacity="0.9"/>')
        if c.flagged:
            body.append(f'<circle class="flagged" cx="{x:.1f}" cy="{y:.1f}" r="24" fill="none" stroke="{ALERT}" '
                        'stroke-width="2.5"/>')
    body.append("</g>")
    body.append(f'<g class="places" fill="{PLACE}" stroke="#ffffff" stroke-width="1">')
    for p in obs.places:
        if inside(p.latitude, p.longitude):
            x, y = xy(p.latitude, p.longitude)
            body.append(f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6"/>')
    body.append("</g>")
    # names: flagged communes first, then by population; a name that would overlap one already
    # written is left out (every commune is named in the table)
    boxes: list[tuple[float, float, float, float]] = []
    ordered = sorted(placed, key=lambda c: (not c.flagged, -(c.population or 0)))
    for c in ordered[:MAX_LABELS] if len(placed) > MAX_LABELS else ordered:
        if len(placed) > MAX_LABELS and not c.flagged:
            break
        x, y = xy(c.latitude, c.longitude)
        gap = 27 if c.flagged else radius[c.insee] + 3
        half = len(c.name) * 3.4
        box = (x - half, y - gap - 11, x + half, y - gap + 2)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
            continue
        boxes.append(box)
        body.append(f'<text x="{x:.1f}" y="{y - gap:.1f}" text-anchor="middle" fill="{INK}" font-size="11">'
                    f'{escape(c.name)}</text>')
    # legend
    y0 = map_h + 18
    body.append(f'<text x="8" y="{y0}" fill="{INK}" font-size="11">Besoin selon '
                + escape(obs.indicator_phrase) + ' (tiers des communes) :</text>')
    x = 8
    for level in (*LEVELS, None):
        label = level or "non renseigné"
        body.append(f'<circle cx="{x + 6}" cy="{y0 + 14}" r="6" fill="{FILLS[level]}" stroke="{INK}" stroke-width="1"/>')
        body.append(f'<text x="{x + 16}" y="{y0 + 18}" fill="{INK}" font-size="11">{escape(label)}</text>')
        x += 30 + len(label) * 7
    y1 = y0 + 40
    body.append(f'<circle cx="14" cy="{y1 - 4}" r="8" fill="#ffffff" stroke="{INK}" stroke-width="1"/>')
    body.append(f'<text x="28" y="{y1}" fill="{INK}" font-size="11">Taille : accompagnements pour 1 000 hab. '
                '(cercle pointillé : valeur masquée)</text>')
    y2 = y1 + 22
    body.append(f'<rect x="11" y="{y2 - 7}" width="6" height="6" fill="{PLACE}"/>')
    body.append(f'<text x="28" y="{y2}" fill="{INK}" font-size="11">Lieu de médiation (structure active du '
                'réseau)</text>')
    y2 += 22
    body.append(f'<circle cx="14" cy="{y2 - 4}" r="8" fill="none" stroke="{ALERT}" stroke-width="2.5"/>')
    body.append(f'<text x="28" y="{y2}" fill="{INK}" font-size="11">Besoin élevé sans lieu à moins de '
                f'{escape(fmt_number(obs.distance_km))} km (à vol d\'oiseau)</text>')
    flagged = obs.flagged
    description = (
        f"Carte des {len(placed)} communes placées à leur centre. Couleur : niveau de besoin ; taille : "
        "accompagnements pour 1 000 habitants ; carrés : lieux de médiation. "
        + (f"Communes de besoin élevé sans lieu à moins de {fmt_number(obs.distance_km)} km : "
           + ", ".join(c.name for c in flagged) + ". " if flagged else
           f"Aucune commune de besoin élevé n'est à plus de {fmt_number(obs.distance_km)} km d'un lieu. ")
        + "Les valeurs exactes sont dans le tableau « Observatoire : besoin et couverture par commune » qui suit.")
    return Markup(  # noqa: S704 - every text part is escaped above or here
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart observatoire-map" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        'aria-labelledby="observatoire-map-title observatoire-map-desc" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">'
        '<title id="observatoire-map-title">Observatoire : besoin et couverture par commune</title>'
        f'<desc id="observatoire-map-desc">{escape(description)}</desc>'
        + "".join(body) + "</svg>"
    )


GRID = "#c8c8c8"
