"""Build the communes reference shipped in ``mediation/directory/data/communes.csv.gz``.

Source: the npm package ``@etalab/decoupage-administratif`` (Etalab, licence MIT for the code,
Licence Ouverte for the data: INSEE's Code officiel géographique with La Poste's postal codes and
INSEE's populations). Rebuild (see docs/communes-reference.md)::

    cd /tmp && npm pack @etalab/decoupage-administratif && tar xzf etalab-decoupage-administratif-*.tgz
    .venv/bin/python -m mediation.directory.reference_build /tmp/package

Kept: current communes (``commune-actuelle``) and the municipal arrondissements of Paris, Lyon and
Marseille. Former codes (``anciensCodes``, delegated and associated communes) become aliases of the
current commune. The package carries no coordinates: they stay empty in the reference.
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
           "anciens_codes")
KINDS = {"commune-actuelle": "C", "arrondissement-municipal": "A"}


def build(package_dir: Path, output: Path = OUTPUT) -> int:
    """Write the reference from the package's ``data/communes.json``; returns the number of communes."""
    package = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
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
                     " ".join(sorted(aliases.get(code, set()) - {code} - set(current)))))
    rows.sort()
    text = io.StringIO()
    text.write(f"# {package['name']} {package['version']}\n")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    output.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same source gives the same bytes (no spurious diff in the repository).
    with open(output, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        out.write(text.getvalue().encode("utf-8"))
    return len(rows)


if __name__ == "__main__":  # pragma: no cover - maintenance command
    if len(sys.argv) != 2:
        sys.exit("usage: python -m mediation.directory.reference_build <unpacked npm package directory>")
    print(f"{build(Path(sys.argv[1]))} communes written to {OUTPUT}")
