"""The inventory and its handovers as CSV (through :class:`mediation.tabular.CsvWriter`) or XLSX.

One row per device, with its current handover (if any). Names never appear: the person is given by
their pseudonym (« Bénéficiaire n° 123 »), whoever exports, so the file can leave the structure.
"""

from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mediation.equipment.models import Device, Handover
from mediation.equipment.services import format_price
from mediation.tabular import CsvWriter, append_text_row
from mediation.types import to_paris

HEADER = ["Structure", "Type", "Modèle", "Numéro de série ou d’inventaire", "État", "Provenance",
          "Donateur ou reconditionneur", "Entré dans le parc le", "Situation", "Dernière remise", "Personne",
          "Remis le", "Retour prévu le", "En retard", "Rendu le", "État au retour", "Prix payé", "Réformé le"]


def rows(session: Session, query: sa.Select, today: date) -> list[list]:
    devices = session.scalars(query.options(joinedload(Device.structure))
                              .order_by(Device.structure_id, Device.kind, Device.asset_number)).all()
    ids = [d.id for d in devices]
    last: dict[int, Handover] = {}
    if ids:
        latest = (sa.select(sa.func.max(Handover.id)).where(Handover.device_id.in_(ids))
                  .group_by(Handover.device_id))
        for handover in session.scalars(sa.select(Handover).where(Handover.id.in_(latest))
                                        .options(joinedload(Handover.beneficiary))):
            last[handover.device_id] = handover
    result = []
    for d in devices:
        h = last.get(d.id)
        result.append([
            d.structure.name, d.kind.label, d.model, d.asset_number, d.condition.label, d.origin.label,
            d.origin_name, d.acquired_on, d.status.label,
            h.kind.label if h else None, h.beneficiary.pseudonym if h else None, h.started_on if h else None,
            h.due_on if h else None, (h.is_overdue(today) if h and h.is_loan else None),
            h.returned_on if h else None, h.return_condition.label if h and h.return_condition else None,
            format_price(h.price_cents) if h else None, to_paris(d.written_off_at).date() if d.written_off_at else None,
        ])
    return result


def inventory_csv(session: Session, query: sa.Select, today: date) -> str:
    buffer = io.StringIO()
    writer = CsvWriter(buffer, delimiter=";", date_format="%d/%m/%Y")
    writer.writerow(HEADER)
    writer.writerows(rows(session, query, today))
    return "\ufeff" + buffer.getvalue()


def inventory_xlsx(session: Session, query: sa.Select, today: date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Matériel"
    append_text_row(sheet, HEADER)
    for row in rows(session, query, today):
        append_text_row(sheet, ["Oui" if v is True else "Non" if v is False else v for v in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
