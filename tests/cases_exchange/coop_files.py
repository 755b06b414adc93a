"""Files laid out as La Coop de la médiation numérique builds them, written from reading its source
(GitHub inclusion-numerique/coop-mediation-numerique), not from our own exports:

- activities: ``apps/web/src/features/activites/use-cases/list/export/buildAccompagnementsWorksheet.ts``
  with ``libs/worksheet/addExportMetadata.ts`` and ``worksheet/buildWorksheetHelpers.ts`` (addFilters);
- beneficiaries: ``…/exporter-beneficiaires/implementation/build-beneficiaires-worksheet.ts``;
- the beneficiaries import template ``apps/web/public/modeles/coop-numerique_import-beneficiaires.xlsx``
  as ``…/importer-beneficiaires/analyse/analyseImportBeneficiairesExcel.ts`` reads it.

Activities are given as the Coop's ``ActiviteListItem`` (enum keys of the Coop: ``Individuel``,
``LieuActivite``, ``Feminin``…); the labels below are copied from its ``cra/fields/*.ts`` and
``beneficiaire/domain/*.ts``.
"""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.worksheet.table import Table, TableStyleInfo

TYPE_ACTIVITE = {"Individuel": "Accompagnement individuel", "Collectif": "Atelier collectif"}
TYPE_LIEU = {"LieuActivite": "Lieu d’activité", "Autre": "Autre lieu", "Domicile": "À domicile",
             "ADistance": "À distance"}
MATERIEL = {"Ordinateur": "Ordinateur", "Telephone": "Téléphone", "Tablette": "Tablette", "Autre": "Autre",
            "Aucun": "Pas de matériel"}
THEMATIQUE = {
    "DiagnosticNumerique": "Diagnostic numérique", "PrendreEnMainDuMateriel": "Prendre en main du matériel",
    "NavigationSurInternet": "Navigation sur internet", "Email": "E-mail", "Bureautique": "Bureautique",
    "ReseauxSociaux": "Réseaux sociaux communication", "Sante": "Santé",
    "BanqueEtAchatsEnLigne": "Banque et achats en ligne", "SecuriteNumerique": "Prévention en sécurité numérique",
    "IntelligenceArtificielle": "Intelligence artificielle (IA)",
    "AideAuxDemarchesAdministratives": "Aide aux démarches administratives",
    "PapiersElectionsCitoyennete": "Papiers - Élections - Citoyenneté", "SocialSante": "Social - Santé",
    "Logement": "Logement", "ArgentImpots": "Argent - Impôts", "EtrangersEurope": "Étrangers - Europe",
}
AUTONOMIE_STARS = {"EntierementAccompagne": 1, "PartiellementAutonome": 2, "Autonome": 3}
NIVEAU_ATELIER_STARS = {"Debutant": 1, "Intermediaire": 2, "Avance": 3}
REDIRECTION = {"Administration": "Administration (mairie, préfecture…)",
               "MediationNumerique": "Autre structure de médiation numérique", "Autre": "Autre"}
GENRE = {"Masculin": "Masculin", "Feminin": "Féminin", "NonCommunique": "Non communiqué"}
SEX = {"Masculin": "Homme", "Feminin": "Femme", "NonCommunique": "Non communiqué"}  # beneficiaries export
TRANCHE = {"SoixanteDixPlus": "70 ans et plus", "SoixanteSoixanteNeuf": "60 - 69 ans",
           "QuaranteCinquanteNeuf": "40 - 59 ans", "VingtCinqTrenteNeuf": "25 - 39 ans",
           "DixHuitVingtQuatre": "18 - 24 ans", "DouzeDixHuit": "12 - 17 ans", "MoinsDeDouze": "Moins de 12 ans",
           "NonCommunique": "Non communiqué"}
STATUT = {"Retraite": "Retraité", "SansEmploi": "Sans emploi", "EnEmploi": "En emploi", "Scolarise": "Scolarisé",
          "NonCommunique": "Non communiqué ou hétérogène"}


def _title_row(ws, title: str) -> None:
    ws.append([title])


def _export_metadata(ws, user: dict, total: int, when: datetime) -> None:
    """addExportMetadata: « Informations export » and its six rows, then a blank row."""
    _title_row(ws, "Informations export")
    for row in (["Nom", user.get("lastName") or "-"], ["Prénom", user.get("firstName") or "-"],
                ["Rôle", user.get("role", "Médiateur")], ["Total", total],
                ["Date d'export", when.strftime("%d/%m/%Y")], ["Heure d'export", when.strftime("%H:%M")], []):
        ws.append(row)


def _filters(ws, mediateur_scope: dict | None, tags: str = "-") -> None:
    """addFilters: « Filtres », its rows (« - » when unset), « Médiateur » for someone else's export."""
    _title_row(ws, "Filtres")
    rows = [["Période", "-"], ["Source", "-"], ["Lieux d’accompagnement", "-"], ["Communes", "-"],
            ["Départements", "-"], ["Type d’accompagnement", "-"], ["Rôle", "-"],
            ["Thématiques non administratives", "-"], ["Thématiques administratives", "-"], ["Tags", tags]]
    if mediateur_scope:
        rows.append(["Médiateur", f"{mediateur_scope['firstName']} {mediateur_scope['lastName']}"])
    rows.append([])
    for row in rows:
        ws.append(row)


def _add_table(ws, headers: list[str], rows: list[list], name: str) -> int:
    ws.append([""])  # separatorRowBeforeTable
    start = ws.max_row + 1
    ws.append(headers)
    for row in rows:
        ws.append(row)
    end_col = ws.cell(row=start, column=len(headers)).column_letter
    table = Table(displayName=name, ref=f"A{start}:{end_col}{start + max(len(rows), 1)}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    return start


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def activity_headers(self_export: bool, has_cra_v1: bool) -> list[str]:
    return ["Date", "Enregistré le", "Dernière modification le",
            *([] if self_export else ["Prénom du médiateur", "Nom du médiateur", "Rôle", "ID - Conum"]),
            "Type", "Participants", *(["Bénéficiaire"] if self_export else []), "Canaux d’accompagnement",
            "Nom du lieu", "Adresse", "Commune", "Code postal", "Code Insee", "Durée (min)", "Nom de l’atelier",
            "Matériel numérique utilisé", "Thématique(s) d’accompagnement", "Tags",
            "Nom de la démarche administrative", "Niveau d’autonomie (ou de l’atelier)", "Bénéficiaire réorienté",
            "Structure de redirection", "Commune du bénéficiaire", "Code postal du bénéficiaire",
            "Code Insee du bénéficiaire", "Genre du bénéficiaire", "Tranche d’âge du bénéficiaire",
            "Statut du bénéficiaire", *(["Notes supplémentaires"] if self_export else []),
            *(["Source de la donnée"] if has_cra_v1 else []), "ID CRA"]


def _fmt(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y à %H:%M")  # format(…, "dd/MM/yyyy 'à' HH:mm", { locale: fr })


def _display_name(b: dict) -> str:
    """displayNameFromIdentity: « Prénom Nom », « Bénéficiaire anonyme » for an anonymous one."""
    if b.get("anonyme") or not (b.get("prenom") or b.get("nom")):
        return "Bénéficiaire anonyme"
    return " ".join(p for p in (b.get("prenom"), b.get("nom")) if p)


def activity_rows(activites: list[dict], self_export: bool, has_cra_v1: bool) -> list[list]:
    rows = []
    for a in activites:
        count = len(a["accompagnements"])
        structure = a.get("structure")
        for index, acc in enumerate(a["accompagnements"]):
            b = acc["beneficiaire"]
            m = a.get("mediateur", {})
            level = ""
            if a.get("autonomie"):
                level = f"{AUTONOMIE_STARS[a['autonomie']]}/3"
            elif a.get("niveau"):
                level = f"{NIVEAU_ATELIER_STARS[a['niveau']]}/3"
            oriented = a.get("orienteVersStructure")
            rows.append([
                datetime.combine(a["date"], datetime.min.time()),
                _fmt(a["creation"]),
                "" if a.get("modification", a["creation"]) == a["creation"] else _fmt(a["modification"]),
                *([] if self_export else [m["firstName"], m["lastName"],
                                          "Conseiller Numérique" if m.get("isConseillerNumerique") else "Médiateur",
                                          m.get("isConseillerNumerique", "")]),
                TYPE_ACTIVITE[a["type"]],
                1 if count == 1 else f"{index + 1}/{count}",
                *([_display_name(b)] if self_export else []),
                TYPE_LIEU[a["typeLieu"]],
                (structure or {}).get("nom", ""),
                (structure or {}).get("adresse", ""),
                (structure or {}).get("commune") or a.get("lieuCommune") or "",
                (structure or {}).get("codePostal") or a.get("lieuCodePostal") or "",
                (structure or {}).get("codeInsee") or a.get("lieuCodeInsee") or "",
                a["duree"],
                a.get("titreAtelier") or "",
                "\n".join(MATERIEL[v] for v in a.get("materiel", [])),
                "\n".join(THEMATIQUE[v] for v in a["thematiques"]),
                "\n".join(a.get("tags", [])),
                a.get("precisionsDemarche") or "",
                level,
                "" if oriented is None else ("Oui" if oriented else "Non"),
                REDIRECTION[a["structureDeRedirection"]] if a.get("structureDeRedirection") else "",
                b.get("commune") or "", b.get("communeCodePostal") or "", b.get("communeCodeInsee") or "",
                GENRE[b.get("genre") or "NonCommunique"],
                TRANCHE[b.get("trancheAge") or "NonCommunique"],
                STATUT[b.get("statutSocial") or "NonCommunique"],
                *([a.get("notes") if a.get("notes") and index == 0 else ""] if self_export else []),
                *(["Espace coop (V1)" if a.get("v1CraId") else "La Coop de la médiation numérique (V2)"]
                  if has_cra_v1 else []),
                a["id"],
            ])
    return rows


def activities_workbook(activites: list[dict], *, user: dict, mediateur: dict | None = None,
                        has_cra_v1: bool = False, when: datetime = datetime(2025, 6, 2, 9, 30)) -> bytes:
    """buildAccompagnementsWorksheet: ``mediateur`` None is a self export (the user's own activities);
    else a coordinator's export of that mediator's (or the team's) activities."""
    self_export = mediateur is None
    wb = Workbook()
    ws = wb.active
    ws.title = "Activités"
    _export_metadata(ws, user, sum(len(a["accompagnements"]) for a in activites), when)
    _filters(ws, mediateur if mediateur and mediateur.get("scope", True) else None)
    headers = activity_headers(self_export, has_cra_v1)
    start = _add_table(ws, headers, activity_rows(activites, self_export, has_cra_v1), "Activités")
    for row in ws.iter_rows(min_row=start + 1, max_col=1):
        for cell in row:
            if cell.value:
                cell.number_format = "dd/mm/yyyy"
    return _save(wb)


BENEFICIARY_HEADERS = ["Nom", "Prénom", "Année de naissance", "Nom de la commune", "Code INSEE", "Code postal",
                       "N° de téléphone", "E-mail", "Genre", "Tranche d\u2019âge",
                       "Statut", "Nombre d\u2019accompagnements", "Notes supplémentaires"]


def beneficiaries_workbook(beneficiaires: list[dict], *, user: dict,
                           when: datetime = datetime(2025, 6, 2, 9, 30)) -> bytes:
    """buildBeneficiairesWorksheet: info block, « Filtres » (Recherche), then the 13-column table."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Bénéficiaires"
    _export_metadata(ws, user, len(beneficiaires), when)
    _title_row(ws, "Filtres")
    ws.append(["Recherche", "-"])
    ws.append([])
    rows = []
    for b in beneficiaires:
        commune = b.get("communeResidence")
        rows.append([b["nom"], b["prenom"], b.get("anneeNaissance") or "-",
                     commune["commune"] if commune else "-", commune["codeInsee"] if commune else "-",
                     commune["codePostal"] if commune else "-", b.get("telephone") or "-", b.get("email") or "-",
                     SEX[b.get("genre", "NonCommunique")], TRANCHE[b.get("trancheAge", "NonCommunique")],
                     STATUT[b.get("statutSocial", "NonCommunique")], b.get("accompagnementsCount", 0),
                     b.get("notes") or ""])
    _add_table(ws, BENEFICIARY_HEADERS, rows, "Activites")
    return _save(wb)


TEMPLATE_INSTRUCTIONS = (
    "Instructions d'utilisation :  \n- Nom et Prénom sont obligatoires \n- Année de naissance est fortement "
    "conseillé pour différencier les homonymes \n- Les autres champs sont optionnels \n- Pour compléter le champ "
    "commune, renseignez le nom de la commune. Le code INSEE et le code postal seront automatiquement complétés")


def template_workbook(rows: list[dict], *, formulas: bool = False) -> bytes:
    """The Coop's import template as a mediator fills it: instructions (row 1), a two-row header
    (row 2, with « Commune » merged over D:F, and row 3: Nom, Code INSEE, Code postal), the example
    row 4, then the people. With ``formulas``, INSEE code and postal code are the template's
    VLOOKUP formulas never computed (a file saved without recalculation: the name alone decides)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Bénéficiaires"
    ws.append([TEMPLATE_INSTRUCTIONS])
    ws.merge_cells("A1:J1")
    ws.append(["Nom", "Prénom", "Année de naissance", "Commune", None, None, "N° de téléphone", "E-mail", "Genre",
               "Notes supplémentaires"])
    ws.merge_cells("D2:F2")
    ws.append([None, None, None, "Nom", "Code INSEE", "Code postal", None, None, None, None])
    ws.append(["Exemple", "Léa", 1970, "Blaziert", "32049", "32100", "0102030405", None, "Féminin", None])
    for r in rows:
        line = ws.max_row + 1
        insee = f'=IF(D{line}="","",IFERROR(VLOOKUP(D{line},Communes!A:B,2,0),"Nom de commune invalide"))'
        postal = f'=IF(D{line}="", "", IFERROR(VLOOKUP(D{line}, Communes!A:C, 3, 0), "Nom de commune invalide"))'
        ws.append([r.get("nom"), r.get("prenom"), r.get("anneeNaissance"), r.get("commune"),
                   insee if formulas else r.get("codeInsee"), postal if formulas else r.get("codePostal"),
                   r.get("telephone"), r.get("email"), r.get("genre"), r.get("notes")])
    communes = wb.create_sheet("Communes")
    communes.append(["Commune", "Code Insee", "Code postal"])
    communes.append(["Rouen", "76540", "76000"])
    return _save(wb)


def day(d: str) -> date:
    return datetime.strptime(d, "%d/%m/%Y").date()  # noqa: DTZ007
