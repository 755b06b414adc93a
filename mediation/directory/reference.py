"""The official reference of French communes, shipped with the code (``data/communes.csv.gz``).

Every current commune (and the municipal arrondissements of Paris, Lyon and Marseille) with all its
postal codes, its population, department and region; former INSEE codes are aliases of the current
commune. Built by ``mediation.directory.reference_build`` (docs/communes-reference.md).

The file is read once per process, on first use (``reference()`` is cached); lookups are then
dictionary reads. Nothing here touches the database: ``mediation.directory.communes`` turns a
reference commune into a row of ``communes`` when an import needs it.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "communes.csv.gz"


@dataclass(frozen=True, slots=True)
class ReferenceCommune:
    insee_code: str
    name: str
    postal_codes: tuple[str, ...]
    population: int | None
    departement: str
    region: str
    arrondissement_of: str | None  # INSEE code of Paris, Lyon or Marseille for an arrondissement
    latitude: float | None = None  # the commune's centre (WGS 84), when the reference has it
    longitude: float | None = None


def fold_name(value: str | None) -> str:
    """Name key: no accents, case, punctuation or spaces; « St »/« Ste » read as « Saint »/« Sainte »."""
    text = unicodedata.normalize("NFKD", (value or "").replace("œ", "oe").replace("Œ", "OE"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\bste\b", "sainte", re.sub(r"\bst\b", "saint", text))
    return re.sub(r"[^a-z0-9]", "", text)


def clean_postal(value: str | None) -> str | None:
    text = re.sub(r"\s", "", str(value or ""))
    if text.isdigit() and len(text) == 4:
        text = "0" + text  # spreadsheets drop the leading zero
    return text if len(text) == 5 and text.isdigit() else None


class CommuneReference:
    def __init__(self, communes: list[ReferenceCommune], aliases: dict[str, str], source: str):
        self.source = source
        self.by_insee = {c.insee_code: c for c in communes}
        self.aliases = aliases
        self.by_postal: dict[str, list[ReferenceCommune]] = {}
        for commune in communes:
            for postal in commune.postal_codes:
                self.by_postal.setdefault(postal, []).append(commune)

    @cached_property
    def by_name(self) -> dict[str, list[ReferenceCommune]]:
        """Built on the first lookup by name alone (folding 35,000 names takes ~0.4 s)."""
        index: dict[str, list[ReferenceCommune]] = {}
        for commune in self.by_insee.values():
            index.setdefault(fold_name(commune.name), []).append(commune)
        return index

    def __len__(self) -> int:
        return len(self.by_insee)

    def get(self, insee_code: str | None) -> ReferenceCommune | None:
        """The current commune of an INSEE code (a former code gives the commune that absorbed it)."""
        code = (insee_code or "").strip().upper()
        if len(code) == 4 and code.isdigit():
            code = "0" + code
        return self.by_insee.get(code) or self.by_insee.get(self.aliases.get(code, ""))

    def for_postal_code(self, postal_code: str | None) -> list[ReferenceCommune]:
        """The communes served by a postal code (several for most rural codes), largest first."""
        found = self.by_postal.get(clean_postal(postal_code) or "", [])
        return sorted(found, key=lambda c: (-(c.population or 0), c.insee_code))

    def find(self, name: str | None, postal_code: str | None = None) -> ReferenceCommune | None:
        """The one commune of that name (and postal code, when given); None when unknown or ambiguous."""
        key = fold_name(name)
        if not key:
            candidates = self.for_postal_code(postal_code)
            return candidates[0] if len(candidates) == 1 else None
        postal = clean_postal(postal_code)
        if postal:
            candidates = [c for c in self.by_postal.get(postal, []) if fold_name(c.name) == key]
            if not candidates:  # "Marseille" with 13001 names the arrondissement's city
                candidates = [self.by_insee[c.arrondissement_of] for c in self.by_postal.get(postal, [])
                              if c.arrondissement_of and fold_name(self.by_insee[c.arrondissement_of].name) == key]
            candidates = list(dict.fromkeys(candidates))
        else:
            candidates = [c for c in self.by_name.get(key, []) if c.arrondissement_of is None]
        return candidates[0] if len(candidates) == 1 else None


def load(path: Path = DATA_FILE) -> CommuneReference:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as raw:
        source = raw.readline().lstrip("# ").strip()
        reader = csv.reader(io.StringIO(raw.read()))
        header = next(reader)
        if header != ["code", "nom", "type", "parent", "departement", "region", "population", "codes_postaux",
                      "anciens_codes", "latitude", "longitude"]:
            raise ValueError(f"{path}: unexpected columns {header}")
        communes, aliases = [], {}
        for (code, name, _kind, parent, departement, region, population, postal_codes, old_codes,
             latitude, longitude) in reader:
            communes.append(ReferenceCommune(
                insee_code=code, name=name, postal_codes=tuple(postal_codes.split()),
                population=int(population) if population else None, departement=departement, region=region,
                arrondissement_of=parent or None, latitude=float(latitude) if latitude else None,
                longitude=float(longitude) if longitude else None))
            for old in old_codes.split():
                aliases[old] = code
    return CommuneReference(communes, aliases, source)


@cache
def reference() -> CommuneReference:
    """The reference, loaded on first use and kept for the life of the process."""
    return load()
