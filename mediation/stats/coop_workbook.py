"""The statistics workbook in the layout of La Coop de la médiation numérique (« Mes statistiques »
→ Télécharger, ``worksheet/statistiques/buildStatistiquesWorksheet.ts``): an « Informations
export » block, the filters, then one block per section, each row label / count / proportion."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from mediation.auth.models import User
from mediation.stats.coop import CoopFilters, CoopStatistics, Share
from mediation.types import LOCAL_TIMEZONE, utcnow


def workbook_bytes(stats: CoopStatistics, user: User, filters: list[tuple[str, str]], *,
                   generated_at: datetime | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    generated_at = generated_at or utcnow()
    local = generated_at.astimezone(LOCAL_TIMEZONE)
    book = Workbook()
    sheet = book.active
    sheet.title = "Statistiques"
    bold = Font(bold=True)

    def title(text: str) -> None:
        sheet.append([text])
        sheet.cell(row=sheet.max_row, column=1).font = bold

    def shares(items: list[Share]) -> None:
        for share in items:
            sheet.append([share.label, share.count, share.percentage])  # text, as the Coop writes it

    title("Informations export")
    sheet.append(["Nom", user.last_name or "-"])
    sheet.append(["Prénom", user.first_name or "-"])
    sheet.append(["Rôle", user.role.label])
    sheet.append(["Date d’export", local.strftime("%d/%m/%Y")])
    sheet.append(["Heure d’export", local.strftime("%H:%M")])
    sheet.append([])
    title("Filtres")
    for label, value in filters:
        sheet.append([label, value])
    sheet.append([])

    title("Statistiques générales")
    sheet.append(["Accompagnements au total", stats.accompaniments])
    sheet.append(["Bénéficiaires accompagnés", stats.beneficiaries])
    if stats.new_beneficiaries > 0:  # as the Coop: the line only when there are some
        sheet.append(["Nouveaux bénéficiaires", stats.new_beneficiaries])
    sheet.append(["Bénéficiaires suivis", stats.followed_beneficiaries])
    sheet.append(["Bénéficiaires anonymes", stats.anonymous_beneficiaries])
    months_title = ("Accompagnements sur les 12 derniers mois" if stats.filters.start == CoopFilters.default(
        stats.filters.end).start else "Accompagnements par mois")
    sheet.append([months_title, *[share.label for share in stats.by_month]])
    sheet.append(["", *[share.count for share in stats.by_month]])
    sheet.append([])

    title("Statistiques sur vos accompagnements")
    individual, workshops = stats.activity_shares
    for share in (individual, workshops):
        sheet.append([share.label, share.count, share.percentage])
    sheet.append(["Nombre total de participants aux ateliers", stats.workshop_participants])
    sheet.append(["Nombre total d’activités", stats.activities])
    sheet.append([])

    for key, _title, heading, items in stats.blocks():
        if key == "genres":
            title("Statistiques sur vos bénéficiaires")
        title(heading)
        shares(items)
        sheet.append([])

    sheet.column_dimensions["A"].width = 55
    sheet.column_dimensions["B"].width = 14
    sheet.column_dimensions["C"].width = 12
    book.properties.creator = "Médiation numérique"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()

