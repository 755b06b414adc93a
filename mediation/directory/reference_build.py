"""Build the communes reference shipped in ``mediation/directory/data/communes.csv.gz``.

Source: the npm package ``@etalab/decoupage-administratif`` (Etalab, licence MIT for the code,
Licence Ouverte for the data: INSEE's Code officiel géographique with La Poste's postal codes and
INSEE's populations). Rebuild (see docs/communes-reference.md)::

    cd /tmp && npm pack @etalab/decoupage-administratif && tar xzf etalab-decoupage-administratif-*.tgz
    .venv/bin/python -m mediation.directory.reference_build /tmp/package

Kept: current communes (``commune-actuelle``) and the municipal arrondissements of Paris, Lyon and
Marseille. Former codes (``anciensCodes``, delegated and associated communes) become aliases of the
current commune.

Coordinates: the package carries none. ``--centres FILE`` adds the centre of each commune from a
CSV file with the columns ``code,latitude,longitude`` (WGS 84, decimal point), for instance the
town-hall positions of IGN's ADMIN EXPRESS (Licence Ouverte) exported to that format; its name is
written in the file's first line next to the package's. Without it, or for a code it lacks, the
``latitude`` and ``longitude`` columns stay empty (docs/communes-reference.md says why).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).parent / "data" / "communes.csv.gz"
COLUMNS = ("code", "nom", "type", "parent", "departement", "region", "population", "codes_postaux",
           "anciens_codes", "latitude", "longitude")
KINDS = {"commune-actuelle": "C", "arrondissement-municipal": "A"}


def read_centres(path: Path) -> dict[str, tuple[str, str]]:
    """code → (latitude, longitude) rounded to 4 decimals (about 10 m), from a ``code,latitude,longitude``
    CSV file; a row outside the range of valid coordinates stops the build."""
    centres = {}
    with open(path, encoding="utf-8-sig", newline="") as raw:
        for row in csv.DictReader(raw):
            lat, lon = float(row["latitude"]), float(row["longitude"])
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"{path}: invalid coordinates for {row['code']}: {lat}, {lon}")
            centres[row["code"].strip()] = (f"{lat:.4f}", f"{lon:.4f}")
    return centres


def build(package_dir: Path, output: Path = OUTPUT, centres: Path | None = None) -> int:
    """Write the reference from the package's ``data/communes.json`` (and the centres file, when
    given); returns the number of communes."""
    package = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    positions = read_centres(centres) if centres else {}
    records = json.loads((package_dir / "data" / "communes.json").read_text(encoding="utf-8"))
    current = {r["code"]: r for r in records if r["type"] == "commune-actuelle"}
    aliases: dict[str, set[str]] = {code: set(r.get("anciensCodes", ())) for code, r in current.items()}
    for record in records:
        parent = record.get("chefLieu") or record.get("commune")
        if record["type"] in ("commune-deleguee", "commune-associee") and parent in aliases:
            aliases[parent].add(record["code"])
    rows = []
    for record in records:
        kind = KINDS.get(record["type"])
        if kind is None:
            continue
        code = record["code"]
        rows.append((code, record["nom"], kind, record.get("commune", "") if kind == "A" else "",
                     record.get("departement", ""), record.get("region", ""), record.get("population", ""),
                     " ".join(sorted(record.get("codesPostaux", ()))),
                     " ".join(sorted(aliases.get(code, set()) - {code} - set(current))),
                     *positions.get(code, ("", ""))))
    rows.sort()
    text = io.StringIO()
    source = f"{package['name']} {package['version']}"
    if centres:
        source += f" ; centres : {centres.name}"
    text.write(f"# {source}\n")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    output.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same source gives the same bytes (no spurious diff in the repository).
    with open(output, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        out.write(text.getvalue().encode("utf-8"))
    return len(rows)


if __name__ == "__main__":  # pragma: no cover - maintenance command
    args = sys.argv[1:]
    centres_file = None
    if len(args) == 3 and args[1] == "--centres":
        centres_file = Path(args[2])
        args = args[:1]
    if len(args) != 1:
        sys.exit("usage: python -m mediation.directory.reference_build <unpacked npm package directory> "
                 "[--centres <code,latitude,longitude CSV file>]")
    print(f"{build(Path(args[0]), centres=centres_file)} communes written to {OUTPUT}")
