"""A streaming, seeded generator of national-scale synthetic data.

Rows are produced in chronological order of the activities and handed to a *sink* in chunks, parents
before children (so foreign keys hold at every chunk). Memory stays bounded: what is kept per
activity is nothing, per identified beneficiary a few integers (their accompaniments count, first
and last visit, case id) to make the derived fields exact:

- ``first_accompaniment``: for an identified person, their first participation by (activity date,
  activity id) in a non-deleted activity — generation order is that order, ids being allocated
  increasingly; for anonymous people, what the mediator declared;
- ``accompaniments_count``: participations in non-deleted activities (written at the end for
  identified people, known at once for anonymous ones);
- case states: decided at the end from the last visit (recent: open; a few months: paused or open;
  long ago: closed with a reason).

Values are emitted already formatted for both databases (strings for dates and timestamps, JSON
text for lists), so sinks do no per-value work.
"""

from __future__ import annotations

import bisect
import json
import math
import random
import unicodedata
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from mediation.directory import national_schema as schema
from mediation.synth import reference as ref
from mediation.text import de
from mediation.types import local_today

# Columns emitted per table, in the order of each row tuple; tables in foreign-key order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "territories": ("id", "name", "kind", "code", "created_at"),
    "communes": ("id", "territory_id", "insee_code", "name", "postal_code", "population", "latitude", "longitude"),
    "structures": (
        "id", "commune_id", "name", "siret", "address", "postal_code", "latitude", "longitude", "typologies",
        "services", "publics", "prise_en_charge", "frais", "modalites_acces", "modalites_accompagnement",
        "dispositifs", "itinerance", "horaires", "telephone", "courriels", "site_web", "presentation_resume",
        "date_maj", "created_at", "updated_at", "archived_at", "formations_labels",
    ),
    "users": (
        "id", "email", "password_hash", "first_name", "last_name", "role", "territory_id", "organisation",
        "is_conseiller_numerique", "is_aidant", "is_active_account", "recovery_codes",
        "created_at",
    ),
    "training_records": ("id", "user_id", "kind", "obtained_on", "expires_on", "created_at", "updated_at"),
    "staff_memberships": ("id", "user_id", "structure_id", "job_title", "started_on", "ended_on"),
    "beneficiaries": (
        "id", "owner_structure_id", "created_by_id", "anonymous", "random_attributes", "first_name", "last_name",
        "email", "phone", "no_phone", "birth_year", "tranche_age", "residence_commune_id", "genre",
        "statut_social", "accompaniments_count", "source", "created_at", "updated_at",
    ),
    "consents": ("id", "beneficiary_id", "structure_id", "scope", "given_at", "recorded_by_id", "withdrawn_at",
                 "withdrawn_by_id"),
    "cases": ("id", "beneficiary_id", "structure_id", "mediator_id", "state", "opened_at", "created_by_id",
              "created_at", "updated_at", "version"),
    "case_notes": ("id", "case_id", "author_id", "body", "created_at"),
    "activities": (
        "id", "type", "mediator_id", "structure_id", "date", "duration_min", "place_type", "place_structure_id",
        "place_commune_id", "demarche_name", "materiel", "autonomie", "oriented", "redirection", "equipment_kind",
        "equipment_count", "notes", "workshop_title", "workshop_level", "participants_count", "source",
        "external_id", "created_by_id", "created_at", "updated_at", "deleted_at",
    ),
    "activity_thematiques": ("activity_id", "code"),
    "participations": ("id", "activity_id", "beneficiary_id", "case_id", "first_accompaniment", "created_at"),
}
TABLES = tuple(COLUMNS)
ID_TABLES = tuple(t for t in TABLES if COLUMNS[t][0] == "id")


class SynthError(Exception):
    """A clear French message for the command line."""


@dataclass
class SynthOptions:
    accompaniments: int
    seed: int = 1
    territories: int | None = None
    months: int = 24
    end: date | None = None
    password_hash: str | None = None
    chunk_rows: int = 50_000

    def resolved_end(self) -> date:
        if self.end is not None:
            return self.end
        return local_today().replace(day=1) - timedelta(days=1)

    def resolved_territories(self) -> int:
        if self.territories is not None:
            return self.territories
        return max(2, min(101, round(self.accompaniments / 50_000)))


@dataclass
class Existing:
    """What the database already holds that generated values must not collide with."""

    department_codes: set[str] = field(default_factory=set)
    territory_names: set[str] = field(default_factory=set)
    sirets: set[str] = field(default_factory=set)


class Weighted:
    """Weighted choice by bisection on cumulative weights (fast, deterministic for a seed)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs):
        self.items = [item for item, _ in pairs]
        self.cum = []
        total = 0.0
        for _, weight in pairs:
            total += weight
            self.cum.append(total)
        self.total = total

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _json(values) -> str:
    return json.dumps(list(values), ensure_ascii=False)


@dataclass
class Mediator:
    user_id: int
    weight: float
    memberships: list[tuple[int, int, int | None]]  # (structure_id, start ordinal, end ordinal or None)

    def active_on(self, day: int) -> list[int]:
        return [s for s, a, b in self.memberships if a <= day and (b is None or day <= b)]


class Generator:
    """Produces every row; ``sink.write(table, columns, rows)`` receives them chunk by chunk."""

    def __init__(self, options: SynthOptions, next_ids: dict[str, int], existing: Existing, *,
                 timestamp_suffix: str, sink, log: Callable[[str], None] | None = None) -> None:
        self.o = options
        self.rng = random.Random(options.seed)
        self.ids = dict(next_ids)
        self.existing = existing
        self.suffix = timestamp_suffix
        self.sink = sink
        self.log = log or (lambda message: None)
        self.buffers: dict[str, list] = {t: [] for t in TABLES}
        self.buffered = 0
        self.counts = dict.fromkeys(TABLES, 0)
        self.end = options.resolved_end()
        first_month = self.end.replace(day=1)
        for _ in range(options.months - 1):
            first_month = (first_month - timedelta(days=1)).replace(day=1)
        self.start = first_month
        self.start_ord = self.start.toordinal()
        self.end_ord = self.end.toordinal()
        self._day_cache: dict[int, str] = {}
        # identified beneficiaries, by ordinal
        self.ident_id = array("q")
        self.ident_case = array("q")
        self.ident_count = array("l")
        self.ident_first = array("l")
        self.ident_last = array("l")
        self.pools: dict[int, deque] = {}
        self._prepare_distributions()

    # --- plumbing --------------------------------------------------------------------------------

    def take(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    def emit(self, table: str, row: tuple) -> None:
        self.buffers[table].append(row)
        self.buffered += 1

    def maybe_flush(self) -> None:
        if self.buffered >= self.o.chunk_rows:
            self.flush()

    def flush(self) -> None:
        for table in TABLES:
            rows = self.buffers[table]
            if rows:
                self.sink.write(table, COLUMNS[table], rows)
                self.counts[table] += len(rows)
                self.buffers[table] = []
        self.buffered = 0

    def day(self, ordinal: int) -> str:
        text = self._day_cache.get(ordinal)
        if text is None:
            text = self._day_cache[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    def ts(self, ordinal: int, seconds: int) -> str:
        seconds = max(0, min(seconds, 86_399))
        return (f"{self.day(ordinal)} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
                f"{self.suffix}")

    def _prepare_distributions(self) -> None:
        w = Weighted
        self.d_ind_duration = w(ref.INDIVIDUAL_DURATIONS)
        self.d_ws_duration = w(ref.WORKSHOP_DURATIONS)
        self.d_ind_place = w(ref.PLACES_INDIVIDUAL)
        self.d_ws_place = w(ref.PLACES_WORKSHOP)
        self.d_ind_them = w([(c, a) for c, a, _ in ref.THEMATIQUES])
        self.d_ws_them = w([(c, b) for c, _, b in ref.THEMATIQUES])
        self.d_them_count = w(ref.THEMATIQUE_COUNTS)
        self.d_ws_them_count = w(((1, 70), (2, 27), (3, 3)))
        self.d_demarche = w(ref.DEMARCHES)
        self.d_demarche_count = w(ref.DEMARCHE_COUNTS)
        self.d_materiel = w([(_json(m), wt) for m, wt in ref.MATERIELS])
        self.d_autonomie = w(ref.AUTONOMIE)
        self.d_oriented = w(ref.ORIENTED)
        self.d_redirection = w(ref.REDIRECTIONS)
        self.d_equipment = w(ref.EQUIPMENT_KINDS)
        self.d_level = w(ref.WORKSHOP_LEVELS)
        self.d_genre_ident = w(ref.GENRES_IDENTIFIED)
        self.d_genre_anon = w(ref.GENRES_ANONYMOUS)
        self.d_age = w([((band, lo, hi), wt) for band, wt, lo, hi in ref.AGE_BANDS])
        self.d_closure = w(ref.CLOSURE_REASONS)
        self.statut_cache: dict[int, Weighted] = {}

    def statut_for(self, age: int | None):
        key = -1 if age is None else (0 if age < 18 else 1 if age < 25 else 2 if age < 62 else 3)
        dist = self.statut_cache.get(key)
        if dist is None:
            dist = self.statut_cache[key] = Weighted(ref.statut_weights(age))
        return dist.pick(self.rng)

    # --- the whole run ---------------------------------------------------------------------------

    def run(self) -> None:
        self.log(f"Période : du {self.start.isoformat()} au {self.end.isoformat()}")
        self._territories()
        self._structures()
        self._users()
        self.flush()
        self._activities()
        self.flush()

    # --- territories and communes ----------------------------------------------------------------

    def _territories(self) -> None:
        rng = self.rng
        count = self.o.resolved_territories()
        free = [(code, name) for code, name in ref.DEPARTEMENTS if code not in self.existing.department_codes]
        if len(free) < count:
            raise SynthError(
                f"Seulement {len(free)} codes de département libres pour {count} territoires : utilisez une "
                "base vide ou réduisez --territories.")
        rng.shuffle(free)
        kinds = Weighted([((kind, span), weight) for kind, weight, span in ref.TERRITORY_KINDS])
        names = set(self.existing.territory_names)
        created = self.ts(self.start_ord - 400, 9 * 3600)
        self.territories = []  # (territory id, [commune ids], Weighted of communes, chef-lieu id)
        self.communes: dict[int, tuple[int, float, float]] = {}  # id → (territory id, lat, lon)
        self.commune_names: dict[int, str] = {}
        all_communes = []
        for code, department_name in free[:count]:
            kind, (low, high) = kinds.pick(rng)
            overseas = len(code) == 3
            n = rng.randint(low, high)
            if overseas:
                n = min(n, 45)
            territory_id = self.take("territories")
            lat0, lon0 = self._centre(code)
            commune_names = set()
            ids, pops = [], []
            number = 0
            chef_name = None
            for index in range(n):
                number += 1 if overseas else rng.randint(1, 2)
                name = self._commune_name(commune_names)
                if index == 0:
                    chef_name = name
                    population = {"metropole": rng.randint(150_000, 520_000),
                                  "departement": rng.randint(30_000, 160_000),
                                  "agglomeration": rng.randint(30_000, 90_000)}.get(kind, rng.randint(3_000, 12_000))
                else:
                    mu = math.log(9_000 if kind == "metropole" else 700)
                    population = int(min(max(rng.lognormvariate(mu, 1.1), 40), 90_000))
                commune_id = self.take("communes")
                insee = f"{code}{number:02d}" if overseas else f"{code}{number:03d}"
                prefix = code if code[0].isdigit() else "20"
                postal = f"{prefix}000" if index == 0 else f"{prefix}{rng.randint(1, 99) * 10:03d}"
                if overseas:
                    postal = f"{code}{rng.randint(0, 9) * 10:02d}"
                lat = round(lat0 + rng.uniform(-0.35, 0.35), 5)
                lon = round(lon0 + rng.uniform(-0.5, 0.5), 5)
                self.emit("communes", (commune_id, territory_id, insee, name, postal, population, lat, lon))
                self.communes[commune_id] = (territory_id, lat, lon)
                self.commune_names[commune_id] = name
                ids.append(commune_id)
                pops.append(population)
                all_communes.append((commune_id, population ** 0.75))
            name = {
                "departement": department_name,
                "metropole": f"Métropole {de(chef_name)}",
                "agglomeration": f"Communauté d'agglomération {de(chef_name)}",
            }.get(kind, f"Communauté de communes {de(chef_name)}")
            if name in names:
                name = f"{name} ({code})"
            names.add(name)
            territory_code = code if kind == "departement" else f"2000{rng.randint(10_000, 99_999)}"
            self.emit("territories", (territory_id, name, kind, territory_code, created))
            self.territories.append((territory_id, ids, Weighted(list(zip(ids, pops, strict=True))), ids[0]))
        self.d_commune = Weighted(all_communes)
        self.territory_of = {cid: t for t, cids, _, _ in self.territories for cid in cids}
        self.territory_communes = {t: w for t, _, w, _ in self.territories}
        self.log(f"Territoires : {count}, communes : {len(self.communes)}")

    def _centre(self, code: str) -> tuple[float, float]:
        overseas = {"971": (16.25, -61.58), "972": (14.64, -61.02), "973": (4.93, -52.33),
                    "974": (-21.11, 55.53), "976": (-12.78, 45.23)}
        if code in overseas:
            return overseas[code]
        return self.rng.uniform(43.3, 50.6), self.rng.uniform(-3.8, 7.4)

    def _commune_name(self, taken: set[str]) -> str:
        rng = self.rng
        for _ in range(20):
            root = rng.choice(ref.COMMUNE_ROOTS)
            roll = rng.random()
            if roll < 0.12:
                name = rng.choice(ref.COMMUNE_PREFIXES) + root
            elif roll < 0.5:
                name = root + rng.choice(ref.COMMUNE_SUFFIXES)
            else:
                name = root
            if name not in taken:
                taken.add(name)
                return name
        name = f"{root}-{len(taken) + 1}"
        taken.add(name)
        return name

    # --- structures ------------------------------------------------------------------------------

    def _mediator_count(self) -> int:
        per_year = 750  # accompagnements per mediator and year
        return max(4, round(self.o.accompaniments / (self.o.months / 12 * per_year)))

    def _structures(self) -> None:
        rng = self.rng
        self.mediator_count = self._mediator_count()
        staffed = max(2, round(self.mediator_count * 0.8))
        unstaffed = max(1, round(staffed * 0.15))
        total = staffed + unstaffed
        codes = list(schema.TYPOLOGIES)
        main = Weighted([((code, pattern, capacity), weight) for code, weight, pattern, capacity in ref.MAIN_TYPOLOGIES])
        main_codes = {code for code, *_ in ref.MAIN_TYPOLOGIES}
        others = [c for c in codes if c not in main_codes]
        every_typology = total >= 2 * len(codes)
        order = codes[:]
        rng.shuffle(order)
        created = self.ts(self.start_ord - 365, 10 * 3600)
        names: set[str] = set()
        date_maj_base = self.end_ord
        self.structures: dict[int, tuple[int, int, float]] = {}  # id → (commune id, territory id, capacity)
        self.staffed: list[int] = []
        self.by_territory: dict[int, list[int]] = {}
        for index in range(total):
            if every_typology and index < len(order):
                code = order[index]
                hit = next((m for m in ref.MAIN_TYPOLOGIES if m[0] == code), None)
                pattern, capacity = (hit[2], hit[3]) if hit else (ref.OTHER_TYPOLOGY_PATTERN, 0.9)
            elif rng.random() < 0.08:
                code, pattern, capacity = rng.choice(others), ref.OTHER_TYPOLOGY_PATTERN, 0.9
            else:
                code, pattern, capacity = main.pick(rng)
            commune_id = self.d_commune.pick(rng)
            territory_id, lat, lon = self.communes[commune_id]
            structure_id = self.take("structures")
            name = pattern.format(commune=self.commune_names[commune_id], label=schema.TYPOLOGIES.get(code, code))
            if name in names:
                name = f"{name} – antenne {structure_id}"
            names.add(name)
            typologies = [code] + (["MUNI"] if code in ("EPN", "BIB") and rng.random() < 0.3 else [])
            services = [schema.DEFAULT_SERVICE] + rng.sample(
                [s for s in schema.SERVICES if s != schema.DEFAULT_SERVICE], rng.randint(1, 3))
            if code == "RFS" and "Aide aux démarches administratives" not in services:
                services.append("Aide aux démarches administratives")
            dispositifs = []
            if rng.random() < 0.6:
                dispositifs.append("Conseillers numériques")
            if code == "RFS":
                dispositifs.append("France Services")
            if rng.random() < 0.2:
                dispositifs.append("Aidants Connect")
            frais = ["Gratuit"] if rng.random() < 0.85 else [rng.choice(("Gratuit sous condition", "Payant"))]
            siret = f"9{structure_id:08d}00015"
            if siret in self.existing.sirets or structure_id >= 100_000_000:
                siret = None
            is_staffed = index < staffed
            archived = None if is_staffed or rng.random() > 0.05 else self.ts(self.end_ord - rng.randint(1, 200), 12 * 3600)
            self.emit("structures", (
                structure_id, commune_id, name[:250], siret,
                f"{rng.randint(1, 80)} {rng.choice(ref.STREETS)}", None,
                round(lat + rng.uniform(-0.01, 0.01), 6), round(lon + rng.uniform(-0.01, 0.01), 6),
                _json(typologies), _json(services),
                _json(rng.sample(schema.PUBLICS, rng.randint(0, 2))),
                _json(rng.sample(schema.PRISE_EN_CHARGE, 1) if rng.random() < 0.15 else []),
                _json(frais), _json(["Se présenter", "Téléphoner"] if rng.random() < 0.7 else ["Prendre un RDV en ligne"]),
                _json(["Accompagnement individuel", "Dans un atelier collectif"] if rng.random() < 0.7
                      else ["Accompagnement individuel"]),
                _json(dispositifs), _json(["Itinérant"] if rng.random() < 0.07 else ["Fixe"]),
                rng.choice(ref.HORAIRES), f"+33{rng.randint(100_000_000, 599_999_999)}",
                _json([f"contact.{structure_id}@structure.example"]),
                f"https://structure-{structure_id}.example" if rng.random() < 0.4 else None,
                "Accompagnement gratuit aux usages numériques du quotidien." if rng.random() < 0.5 else None,
                self.day(date_maj_base - rng.randint(0, 400)), created, created, archived, _json([]),
            ))
            self.structures[structure_id] = (commune_id, territory_id, capacity)
            self.by_territory.setdefault(territory_id, []).append(structure_id)
            if is_staffed:
                self.staffed.append(structure_id)
            self.pools[structure_id] = deque(maxlen=60)
        self.log(f"Structures : {total} (dont {staffed} avec des médiateurs)")

    # --- users and memberships -------------------------------------------------------------------

    def _person(self) -> tuple[str, str]:
        rng = self.rng
        first = rng.choice(ref.FIRST_NAMES_F if rng.random() < 0.6 else ref.FIRST_NAMES_M)
        return first, rng.choice(ref.LAST_NAMES)

    def _user(self, role: str, *, territory_id=None, organisation=None, conseiller=False, aidant=False,
              first_last=None) -> int:
        user_id = self.take("users")
        first, last = first_last or self._person()
        email = f"{ascii_slug(first)}.{ascii_slug(last)}.{user_id}@synth.example"
        created = self.ts(self.start_ord - 400, 8 * 3600)
        self.emit("users", (
            user_id, email, self.o.password_hash, first, last, role, territory_id, organisation, conseiller,
            aidant, True, "[]", created,
        ))
        if aidant:  # the habilitation is a training record (Aidants Connect), valid three years
            trained = self.start_ord - self.rng.randint(10, 600)
            self.emit("training_records", (self.take("training_records"), user_id, "aidants_connect",
                                           self.day(trained), self.day(trained + 3 * 365), created, created))
        return user_id

    def _users(self) -> None:
        rng = self.rng
        self._user("admin", first_last=("Administration", "Synthèse"))
        for territory_id, *_ in self.territories:
            self._user("coordinator", territory_id=territory_id)
        for n in range(max(1, len(self.territories) // 4)):
            self._user("funder", organisation=f"Financeur synthétique n° {n + 1}")
        span = self.end_ord - self.start_ord
        capacity = Weighted([(s, self.structures[s][2]) for s in self.staffed])
        self.mediators: list[Mediator] = []
        for index in range(self.mediator_count):
            conseiller = rng.random() < 0.55
            user_id = self._user("mediator", conseiller=conseiller, aidant=rng.random() < 0.15)
            primary = self.staffed[index] if index < len(self.staffed) else capacity.pick(rng)
            veteran = index == 0 or index < 0.6 * self.mediator_count or rng.random() < 0.7
            start = self.start_ord - rng.randint(30, 1500) if veteran else self.start_ord + int(rng.random() * 0.85 * span)
            memberships = []
            if index > 0 and rng.random() < 0.08 and self.end_ord - start > 120:
                end = rng.randint(start + 60, self.end_ord - 30)
                memberships.append((primary, start, end))
                if rng.random() < 0.6:
                    memberships.append((self._other_structure(primary, staffed_only=True), end + 1, None))
            else:
                memberships.append((primary, start, None))
                if rng.random() < 0.12:
                    memberships.append((self._other_structure(primary), max(start, self.start_ord - 10), None))
            for structure_id, a, b in memberships:
                self.emit("staff_memberships", (
                    self.take("staff_memberships"), user_id, structure_id,
                    "Conseiller·ère numérique" if conseiller else "Médiateur·rice numérique",
                    self.day(a), None if b is None else self.day(b),
                ))
            weight = rng.lognormvariate(0, 0.45) * (1.15 if conseiller else 1.0)
            self.mediators.append(Mediator(user_id, weight, memberships))
        self.log(f"Médiateurs : {self.mediator_count}")

    def _other_structure(self, structure_id: int, staffed_only: bool = False) -> int:
        territory_id = self.structures[structure_id][1]
        candidates = [s for s in self.by_territory[territory_id] if s != structure_id]
        if staffed_only:
            staffed = set(self.staffed)
            candidates = [s for s in candidates if s in staffed]
        return self.rng.choice(candidates) if candidates else structure_id

    # --- calendar --------------------------------------------------------------------------------

    def day_quotas(self) -> list[tuple[int, int]]:
        """(day ordinal, accompagnements that day), summing exactly to the requested number."""
        holidays = set()
        for year in range(self.start.year, self.end.year + 1):
            holidays |= {d.toordinal() for d in ref.public_holidays(year)}
        span = max(1, self.end_ord - self.start_ord)
        weights = []
        for ordinal in range(self.start_ord, self.end_ord + 1):
            d = date.fromordinal(ordinal)
            w = ref.MONTH_WEIGHTS[d.month - 1] * ref.WEEKDAY_WEIGHTS[d.weekday()]
            if ordinal in holidays:
                w *= ref.HOLIDAY_WEIGHT
            w *= 0.85 + 0.3 * (ordinal - self.start_ord) / span  # the programme grows
            weights.append((ordinal, w))
        total_weight = sum(w for _, w in weights)
        n = self.o.accompaniments
        raw = [(ordinal, n * w / total_weight) for ordinal, w in weights]
        quotas = {ordinal: int(x) for ordinal, x in raw}
        missing = n - sum(quotas.values())
        for ordinal, _ in sorted(raw, key=lambda item: (-(item[1] - int(item[1])), item[0]))[:missing]:
            quotas[ordinal] += 1
        return [(ordinal, quotas[ordinal]) for ordinal, _ in raw if quotas[ordinal]]

    # --- activities ------------------------------------------------------------------------------

    def _activities(self) -> None:
        rng = self.rng
        low, high, mode = ref.WORKSHOP_SIZE
        done = 0
        milestone = max(1, self.o.accompaniments // 10)
        for ordinal, quota in self.day_quotas():
            active = [m for m in self.mediators if m.active_on(ordinal)] or self.mediators[:1]
            chooser = Weighted([(m, m.weight) for m in active])
            remaining = quota
            while remaining > 0:
                mediator = chooser.pick(rng)
                structures = mediator.active_on(ordinal) or [mediator.memberships[0][0]]
                structure_id = structures[0] if len(structures) == 1 or rng.random() < 0.7 else structures[-1]
                if remaining >= low and rng.random() > ref.INDIVIDUAL_SHARE:
                    size = min(remaining, round(rng.triangular(low, high, mode)))
                    self._workshop(ordinal, mediator.user_id, structure_id, size)
                else:
                    size = 1
                    self._individual(ordinal, mediator.user_id, structure_id)
                remaining -= size
                done += size
                if done >= milestone:
                    self.log(f"… {done:,} accompagnements".replace(",", " "))
                    milestone += max(1, self.o.accompaniments // 10)
                self.maybe_flush()

    def _common(self, ordinal: int, individual: bool) -> dict:
        rng = self.rng
        seconds = rng.randint(7 * 3600, 17 * 3600)
        deleted = rng.random() < ref.DELETED_SHARE
        return {
            "seconds": seconds,
            "created": self.ts(ordinal, seconds),
            "deleted_at": self.ts(min(ordinal + rng.randint(0, 20), self.end_ord), seconds + 3600) if deleted else None,
            "deleted": deleted,
            "duration": (self.d_ind_duration if individual else self.d_ws_duration).pick(rng),
        }

    def _thematiques(self, individual: bool) -> tuple[list[str], str | None]:
        rng = self.rng
        dist = self.d_ind_them if individual else self.d_ws_them
        wanted = (self.d_them_count if individual else self.d_ws_them_count).pick(rng)
        codes: list[str] = []
        for _ in range(wanted * 4):
            code = dist.pick(rng)
            if code not in codes:
                codes.append(code)
                if len(codes) == wanted:
                    break
        demarche_name = None
        if "aide_aux_demarches_administratives" in codes:
            for _ in range(self.d_demarche_count.pick(rng)):
                code = self.d_demarche.pick(rng)
                if code not in codes:
                    codes.append(code)
            if rng.random() < 0.35:
                demarche_name = rng.choice(ref.DEMARCHE_NAMES)
        return codes, demarche_name

    def _place(self, individual: bool, structure_id: int) -> tuple[str, int | None, int | None]:
        rng = self.rng
        kind = (self.d_ind_place if individual else self.d_ws_place).pick(rng)
        commune_id, territory_id, _ = self.structures[structure_id]
        if kind == "lieu_activite":
            place = structure_id
            if rng.random() < ref.OTHER_PLACE_SHARE:
                place = rng.choice(self.by_territory[territory_id])
            return kind, place, None
        if kind == "a_distance":
            return kind, None, commune_id
        if rng.random() < 0.5:
            return kind, None, commune_id
        return kind, None, self.territory_communes[territory_id].pick(rng)

    def _emit_activity(self, activity_id: int, ordinal: int, type_: str, mediator_id: int, structure_id: int,
                       common: dict, participants: int, individual_fields, workshop_fields) -> None:
        rng = self.rng
        codes, demarche_name = self._thematiques(type_ == "individuel")
        place_type, place_structure, place_commune = self._place(type_ == "individuel", structure_id)
        equipment_kind = equipment_count = None
        if rng.random() < ref.EQUIPMENT_SHARE:
            equipment_kind, equipment_count = self.d_equipment.pick(rng), 1 if rng.random() < 0.85 else rng.randint(2, 4)
        imported = rng.random() < ref.IMPORTED_SHARE
        autonomie, oriented, redirection = individual_fields
        title, level = workshop_fields
        if title == "":
            title = rng.choice(ref.WORKSHOP_TITLES.get(codes[0], ref.GENERIC_WORKSHOP_TITLES))
        self.emit("activities", (
            activity_id, type_, mediator_id, structure_id, self.day(ordinal), common["duration"], place_type,
            place_structure, place_commune, demarche_name, self.d_materiel.pick(rng), autonomie, oriented,
            redirection, equipment_kind, equipment_count,
            rng.choice(ref.ACTIVITY_NOTES) if rng.random() < ref.NOTES_SHARE else None,
            title, level, participants, "import" if imported else "saisie",
            f"SYN-{activity_id}" if imported else None, mediator_id, common["created"], common["created"],
            common["deleted_at"],
        ))
        for code in codes:
            self.emit("activity_thematiques", (activity_id, code))

    def _individual(self, ordinal: int, mediator_id: int, structure_id: int) -> None:
        rng = self.rng
        common = self._common(ordinal, True)
        activity_id = self.take("activities")
        if rng.random() < ref.INDIVIDUAL_ANONYMOUS_SHARE:
            participant = self._anonymous(ordinal, structure_id, mediator_id, common, random_attributes=False)
        else:
            pool = self.pools[structure_id]
            if pool and rng.random() >= ref.NEW_FOLLOWED_SHARE:
                k = pool[int(rng.random() * len(pool))]
            else:
                k = self._new_identified(ordinal, structure_id, mediator_id, common["seconds"])
            participant = self._followed(k, ordinal, common)
        oriented = self.d_oriented.pick(rng)
        individual_fields = (self.d_autonomie.pick(rng), oriented,
                             self.d_redirection.pick(rng) if oriented else None)
        self._emit_activity(activity_id, ordinal, "individuel", mediator_id, structure_id, common, 1,
                            individual_fields, (None, None))
        self._participation(activity_id, participant, common)

    def _workshop(self, ordinal: int, mediator_id: int, structure_id: int, size: int) -> None:
        rng = self.rng
        common = self._common(ordinal, False)
        activity_id = self.take("activities")
        followed = sum(1 for _ in range(size) if rng.random() < ref.WORKSHOP_FOLLOWED_SHARE)
        pool = self.pools[structure_id]
        from_pool = rng.sample(list(pool), min(len(pool), sum(1 for _ in range(followed) if rng.random() < 0.85)))
        newcomers = [self._new_identified(ordinal, structure_id, mediator_id, common["seconds"])
                     for _ in range(followed - len(from_pool))]
        participants = [self._followed(k, ordinal, common) for k in from_pool + newcomers]
        participants += [self._anonymous(ordinal, structure_id, mediator_id, common, random_attributes=True)
                         for _ in range(size - len(participants))]
        self._emit_activity(activity_id, ordinal, "collectif", mediator_id, structure_id, common, size,
                            (None, None, None), ("", self.d_level.pick(rng)))
        for participant in participants:
            self._participation(activity_id, participant, common)

    def _participation(self, activity_id: int, participant: tuple[int, int | None, bool], common: dict) -> None:
        beneficiary_id, case_id, first = participant
        self.emit("participations", (self.take("participations"), activity_id, beneficiary_id, case_id, first,
                                     common["created"]))

    # --- beneficiaries ---------------------------------------------------------------------------

    def _residence(self, structure_id: int, share: float) -> int | None:
        rng = self.rng
        if rng.random() >= share:
            return None
        commune_id, territory_id, _ = self.structures[structure_id]
        return commune_id if rng.random() < 0.55 else self.territory_communes[territory_id].pick(rng)

    def _anonymous(self, ordinal: int, structure_id: int, mediator_id: int, common: dict, *,
                   random_attributes: bool) -> tuple[int, None, bool]:
        rng = self.rng
        beneficiary_id = self.take("beneficiaries")
        band = self.d_age.pick(rng)[0] if rng.random() < 0.6 else None
        self.emit("beneficiaries", (
            beneficiary_id, structure_id, mediator_id, True, random_attributes, None, None, None, None, False,
            None, band, None if random_attributes else self._residence(structure_id, 0.4),
            self.d_genre_anon.pick(rng), self.statut_for(None), 0 if common["deleted"] else 1, "saisie",
            common["created"], common["created"],
        ))
        already = rng.random() < (0.4 if random_attributes else 0.35)
        return beneficiary_id, None, not already

    def _new_identified(self, ordinal: int, structure_id: int, mediator_id: int, seconds: int) -> int:
        rng = self.rng
        beneficiary_id = self.take("beneficiaries")
        case_id = self.take("cases")
        genre = self.d_genre_ident.pick(rng)
        female = genre == "feminin" or (genre != "masculin" and rng.random() < 0.5)
        first = rng.choice(ref.FIRST_NAMES_F if female else ref.FIRST_NAMES_M)
        last = rng.choice(ref.LAST_NAMES)
        age = None
        if rng.random() < 0.75:
            _, low, high = self.d_age.pick(rng)
            age = rng.randint(low, high)
        year = date.fromordinal(ordinal).year
        phone = f"06{rng.randint(0, 99_999_999):08d}" if rng.random() < 0.7 else None
        email = (f"{ascii_slug(first)}.{ascii_slug(last)}{beneficiary_id}@courriel.example"
                 if rng.random() < 0.45 else None)
        created = self.ts(ordinal, seconds)
        self.emit("beneficiaries", (
            beneficiary_id, structure_id, mediator_id, False, False, first, last, email, phone,
            phone is None and rng.random() < 0.15, None if age is None else year - age, None,
            self._residence(structure_id, 0.85), genre, self.statut_for(age), 0, "saisie", created, created,
        ))
        self.emit("cases", (case_id, beneficiary_id, structure_id, mediator_id, "ouvert", created, mediator_id,
                            created, created, 1))
        if rng.random() < 0.85:
            withdrawn = None
            if rng.random() < 0.03:
                later = min(ordinal + rng.randint(30, 300), self.end_ord)
                withdrawn = self.ts(later, seconds + 60) if later > ordinal else None
            self.emit("consents", (self.take("consents"), beneficiary_id, structure_id, "structure", created,
                                   mediator_id, withdrawn, mediator_id if withdrawn else None))
        if rng.random() < 0.2:
            self.emit("consents", (self.take("consents"), beneficiary_id, structure_id, "reseau", created,
                                   mediator_id, None, None))
        if rng.random() < 0.1:
            for _ in range(rng.randint(1, 2)):
                later = min(ordinal + rng.randint(1, 120), self.end_ord)
                self.emit("case_notes", (self.take("case_notes"), case_id, mediator_id, rng.choice(ref.CASE_NOTES),
                                         self.ts(later, seconds + 120)))
        k = len(self.ident_id)
        self.ident_id.append(beneficiary_id)
        self.ident_case.append(case_id)
        self.ident_count.append(0)
        self.ident_first.append(ordinal)
        self.ident_last.append(ordinal)
        self.pools[structure_id].append(k)
        return k

    def _followed(self, k: int, ordinal: int, common: dict) -> tuple[int, int, bool]:
        first = False
        if not common["deleted"]:
            first = self.ident_count[k] == 0
            self.ident_count[k] += 1
            self.ident_last[k] = ordinal
        return self.ident_id[k], self.ident_case[k], first

    # --- what is known only at the end -----------------------------------------------------------

    def beneficiary_counts(self) -> Iterator[tuple[int, int]]:
        """(beneficiary id, accompaniments count) of identified people with at least one."""
        for k in range(len(self.ident_id)):
            if self.ident_count[k]:
                yield self.ident_id[k], self.ident_count[k]

    def case_states(self) -> Iterator[tuple]:
        """(case id, state, paused_at, closed_at, closure_reason, updated_at, version) of the cases
        that are not simply open; uses its own random stream (does not disturb the main one)."""
        rng = random.Random(self.o.seed * 7919 + 1)
        for k in range(len(self.ident_id)):
            last = self.ident_last[k]
            idle = self.end_ord - last
            roll = rng.random()
            if idle > 180 or (idle <= 90 and roll < 0.08):
                reason = self.d_closure.pick(rng) if idle > 180 else "autonomie_atteinte"
                closed = min(last + (rng.randint(20, 90) if idle > 180 else rng.randint(0, max(0, min(idle, 20)))),
                             self.end_ord)
                at = self.ts(closed, 17 * 3600)
                yield self.ident_case[k], "clos", None, at, reason, at, 2
            elif idle > 90 and roll < 0.5:
                at = self.ts(min(last + rng.randint(15, 45), self.end_ord), 16 * 3600)
                yield self.ident_case[k], "en_pause", at, None, None, at, 2
