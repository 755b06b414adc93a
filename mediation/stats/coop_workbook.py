"""The statistics workbook in the layout of La Coop de la médiation numérique (« Mes statistiques »
→ Télécharger, ``worksheet/statistiques/buildStatistiquesWorksheet.ts``): an « Informations
export » block, the filters, then one block per section, each row label / count / proportion."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from mediation.auth.models import User
from mediation.cases import xlsx
from mediation.stats.coop import CoopFilters, CoopStatistics, Share
from mediation.types import LOCAL_TIMEZONE, utcnow


def workbook_bytes(stats: CoopStatistics, user: User, filters: list[tuple[str, str]], *,
                   generated_at: datetime | None = None) -> bytes:
    """The workbook, written by :mod:`mediation.cases.xlsx` (a network's thousands of communes: a
    few µs per cell, where openpyxl took most of the export's time)."""
    generated_at = generated_at or utcnow()
    local = generated_at.astimezone(LOCAL_TIMEZONE)
    buffer = BytesIO()
    with xlsx.Workbook(buffer) as book, book.sheet("Statistiques", widths=(55, 14, 12)) as sheet:
        append = sheet.row

        def title(text: str) -> None:
            append([text], xlsx.BOLD)

        def shares(items: list[Share]) -> None:
            for share in items:
                append([share.label, share.count, share.percentage])  # text, as the Coop writes it

        title("Informations export")
        append(["Nom", user.last_name or "-"])
        append(["Prénom", user.first_name or "-"])
        append(["Rôle", user.role.label])
        append(["Date d’export", local.strftime("%d/%m/%Y")])
        append(["Heure d’export", local.strftime("%H:%M")])
        append([])
        title("Filtres")
        for label, value in filters:
            append([label, value])
        append([])

        title("Statistiques générales")
        append(["Accompagnements au total", stats.accompaniments])
        append(["Bénéficiaires accompagnés", stats.beneficiaries])
        if stats.new_beneficiaries > 0:  # as the Coop: the line only when there are some
            append(["Nouveaux bénéficiaires", stats.new_beneficiaries])
        append(["Bénéficiaires suivis", stats.followed_beneficiaries])
        append(["Bénéficiaires anonymes", stats.anonymous_beneficiaries])
        months_title = ("Accompagnements sur les 12 derniers mois" if stats.filters.start == CoopFilters.default(
            stats.filters.end).start else "Accompagnements par mois")
        append([months_title, *[share.label for share in stats.by_month]])
        append(["", *[share.count for share in stats.by_month]])
        append([])

        title("Statistiques sur vos accompagnements")
        individual, workshops = stats.activity_shares
        for share in (individual, workshops):
            append([share.label, share.count, share.percentage])
        append(["Nombre total de participants aux ateliers", stats.workshop_participants])
        append(["Nombre total d’activités", stats.activities])
        append([])

        for key, _title, heading, items in stats.blocks():
            if key == "genres":
                title("Statistiques sur vos bénéficiaires")
            title(heading)
            shares(items)
            append([])
    return buffer.getvalue()
