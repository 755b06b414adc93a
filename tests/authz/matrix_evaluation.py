"""Authorization matrix: impact evaluation (dashboard, exports, reports, programmes and funders,
follow-up calls) and its API.

In and out of scope: « Programme matrice » (funder « Financeur matrice », territory of the network,
covering structure A; the network's funder account is linked to it) and « Programme lointain »
(another funder, the other territory, covering the far structure). A funder sees only its own
programme's aggregates: no activity export, no follow-up, no mediator filter.
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa

from mediation.cases.models import Beneficiary, Case
from mediation.evaluation.models import (
    FollowUp,
    FollowUpTrigger,
    Funder,
    FunderKind,
    Programme,
    ReportFile,
    ReportFormat,
)
from mediation.extensions import db
from mediation.types import local_today
from tests.authz.roles import expect

YEAR = local_today().year
PERIOD = f"du={YEAR}-01-01&au={YEAR}-12-31"
SIGNED_IN = expect(200, anonymous=302)
STAFF = expect(200, anonymous=302, funder=403)
MANAGERS = expect(403, anonymous=302, admin=200, coordinator=200)


def _funder(name: str) -> Funder:
    funder = db.session.scalar(sa.select(Funder).where(Funder.name == name))
    if funder is None:
        funder = Funder(name=name, kind=FunderKind.METROPOLE)
        db.session.add(funder)
        db.session.flush()
    return funder


def _programme(n, far: bool = False) -> Programme:
    name = "Programme lointain" if far else "Programme matrice"
    programme = db.session.scalar(sa.select(Programme).where(Programme.name == name))
    if programme is None:
        funder = _funder("Financeur lointain" if far else "Financeur matrice")
        programme = Programme(funder_id=funder.id, name=name, starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31),
                              territory_id=(n.other_territory if far else n.territory).id)
        programme.structures = [n.structure_far if far else n.structure_a]
        db.session.add(programme)
        db.session.flush()
    if not far:
        n.funder.funder_id = programme.funder_id
        db.session.flush()
    return programme


def _programme_id(n, far: bool = False) -> int:
    return _programme(n, far).id


def _follow_up(n, far: bool = False) -> int:
    structure = n.structure_far if far else n.structure_a
    person = Beneficiary(owner_structure_id=structure.id, anonymous=False, first_name="Rose", last_name="Relance",
                         phone="0600000000")
    db.session.add(person)
    db.session.flush()
    case = Case(beneficiary_id=person.id, structure_id=structure.id)
    db.session.add(case)
    db.session.flush()
    follow_up = FollowUp(case_id=case.id, beneficiary_id=person.id, structure_id=structure.id,
                         trigger=FollowUpTrigger.CLOTURE, triggered_at=datetime(YEAR, 1, 2, tzinfo=UTC),
                         due_on=date(YEAR, 1, 3))
    db.session.add(follow_up)
    db.session.flush()
    return follow_up.id


def _admins_report(n) -> int:
    report = ReportFile(created_by_id=n.admin.id, format=ReportFormat.CSV, title="Rapport", params={},
                        filename="rapport.csv", size=3, sha256="0" * 64, content=b"a;b")
    db.session.add(report)
    db.session.flush()
    return report.id


def _in(path: str):
    return lambda n: f"{path}?{PERIOD}&programme={_programme_id(n)}"


def _far(path: str):
    return lambda n: f"{path}?{PERIOD}&programme={_programme_id(n, far=True)}"


IN_SCOPE = expect(200, anonymous=302)
FAR = expect(404, anonymous=302, admin=200)
FUNDER_NO_MEDIATOR = expect(404, anonymous=302, admin=200, coordinator=200, funder=403)


def _dashboard_like(path: str) -> list[dict]:
    return [
        {"url": _in(path), "expect": IN_SCOPE, "note": "programme couvrant la structure A"},
        {"url": _far(path), "expect": FAR, "note": "programme d'un autre financeur, autre territoire"},
        {"url": lambda n: f"{path}?du=2025-13-01", "expect": expect(400, anonymous=302), "note": "date invalide"},
        {"url": lambda n: f"{path}?{PERIOD}&territoire={n.other_territory.id}&x={_programme_id(n)}",
         "expect": expect(200, anonymous=302, coordinator=404),
         "note": "autre territoire : refusé à la coordination ; ailleurs, croisé avec le périmètre (aucun chiffre)"},
        {"url": lambda n: f"{path}?{PERIOD}&programme={_programme_id(n)}&mediateur={n.mediator_b.id}",
         "expect": FUNDER_NO_MEDIATOR, "note": "filtre médiateur : coordination et administration seulement"},
    ]


ROUTES = {
    "evaluation.dashboard": _dashboard_like("/evaluation/") + [
        {"url": lambda n: f"/evaluation/?{PERIOD}&comparer=structures",
         "expect": expect(400, anonymous=302, admin=200, coordinator=200),
         "note": "comparaison : coordination et administration seulement"},
    ],
    "evaluation.recompute": [
        {"url": _in("/evaluation/recalculer"), "method": "POST", "data": {}, "expect": expect(303, anonymous=302),
         "note": "« Recalculer maintenant » : calculé, puis la page"},
        {"url": _far("/evaluation/recalculer"), "method": "POST", "data": {},
         "expect": expect(404, anonymous=302, admin=303), "note": "programme d'un autre financeur : rien n'est calculé"},
        {"url": lambda n: f"/evaluation/recalculer?{PERIOD}&territoire={n.other_territory.id}", "method": "POST",
         "data": {}, "expect": expect(303, anonymous=302, coordinator=404),
         "note": "autre territoire : refusé à la coordination"},
    ],
    "evaluation.export_xlsx": _dashboard_like("/evaluation/export.xlsx"),
    "evaluation.export_csv": _dashboard_like("/evaluation/export.csv"),
    "evaluation.open_data": _dashboard_like("/evaluation/donnees-ouvertes.csv"),
    "evaluation.export_activities": [
        {"url": _in("/evaluation/activites.csv"), "expect": STAFF, "note": "jamais pour un financeur"},
        {"url": _in("/evaluation/activites.xlsx"), "expect": STAFF},
        {"url": lambda n: f"/evaluation/activites.pdf?{PERIOD}", "expect": expect(404, anonymous=302, funder=403)},
    ],
    "evaluation.reports": [
        {"url": "/evaluation/rapports", "expect": SIGNED_IN},
        {"url": "/evaluation/rapports", "method": "POST", "data": {}, "expect": SIGNED_IN,
         "note": "formulaire vide : message, aucune tâche"},
    ],
    "evaluation.report_download": {
        "url": lambda n: f"/evaluation/rapports/{_admins_report(n)}.csv", "expect": expect(404, anonymous=302, admin=200),
        "note": "rapport produit par quelqu'un d'autre",
    },
    "evaluation.programme_list": {"url": "/evaluation/programmes", "expect": SIGNED_IN},
    "evaluation.programme_detail": [
        {"url": lambda n: f"/evaluation/programmes/{_programme_id(n)}", "expect": IN_SCOPE},
        {"url": lambda n: f"/evaluation/programmes/{_programme_id(n, far=True)}", "expect": FAR},
    ],
    "evaluation.programme_new": [
        {"url": "/evaluation/programmes/nouveau", "expect": MANAGERS},
        {"url": "/evaluation/programmes/nouveau", "method": "POST", "data": {},
         "expect": expect(403, anonymous=302, admin=422, coordinator=422), "note": "formulaire vide : erreurs"},
    ],
    "evaluation.programme_edit": [
        {"url": lambda n: f"/evaluation/programmes/{_programme_id(n)}/modifier", "expect": MANAGERS},
        {"url": lambda n: f"/evaluation/programmes/{_programme_id(n, far=True)}/modifier",
         "expect": expect(403, anonymous=302, admin=200, coordinator=404)},
        {"url": lambda n: f"/evaluation/programmes/{_programme_id(n)}/modifier", "method": "POST", "data": {},
         "expect": expect(403, anonymous=302, admin=422, coordinator=422)},
    ],
    "evaluation.programme_attribute": [
        {"url": lambda n: f"/evaluation/programmes/{_programme_id(n)}/attributions", "method": "POST",
         "data": {}, "expect": expect(403, anonymous=302, admin=302, coordinator=302),
         "note": "sans numéro : message, rien n'est attribué"},
        {"url": lambda n: f"/evaluation/programmes/{_programme_id(n, far=True)}/attributions", "method": "POST",
         "data": {}, "expect": expect(403, anonymous=302, admin=302, coordinator=404)},
    ],
    "evaluation.programme_unattribute": {
        "url": lambda n: f"/evaluation/programmes/{_programme_id(n)}/attributions/999999/retrait", "method": "POST",
        "expect": expect(403, anonymous=302, admin=404, coordinator=404), "note": "activité non attribuée",
    },
    "evaluation.funder_list": [
        {"url": "/evaluation/financeurs", "expect": expect(403, anonymous=302, admin=200)},
        {"url": "/evaluation/financeurs", "method": "POST", "data": {}, "expect": expect(403, anonymous=302, admin=422)},
    ],
    "evaluation.funder_link": [
        {"url": lambda n: f"/evaluation/financeurs/{_programme(n).funder_id}/comptes", "method": "POST", "data": {},
         "expect": expect(403, anonymous=302, admin=302)},
        {"url": "/evaluation/financeurs/999999/comptes", "method": "POST", "data": {},
         "expect": expect(403, anonymous=302, admin=404)},
    ],
    "evaluation.follow_up_list": {"url": "/evaluation/relances", "expect": STAFF},
    "evaluation.follow_up_record": [
        {"url": lambda n: f"/evaluation/relances/{_follow_up(n)}", "expect": STAFF},
        {"url": lambda n: f"/evaluation/relances/{_follow_up(n, far=True)}",
         "expect": expect(404, anonymous=302, admin=200, funder=403)},
        {"url": lambda n: f"/evaluation/relances/{_follow_up(n)}", "method": "POST", "data": {"status": ""},
         "expect": expect(403, anonymous=302, mediator=422, aidant=422),
         "note": "médiateurs seulement ; résultat manquant : erreur"},
    ],
    "api.indicators_get": [
        {"url": "/api/v1/indicateurs", "expect": expect(200, anonymous=401, funder=401),
         "note": "jeton à toutes les permissions : refusé au financeur, qui n'a que indicators:read"},
        {"url": lambda n: f"/api/v1/indicateurs?{PERIOD}&programme={_programme_id(n)}",
         "scopes": ["indicators:read"], "expect": expect(200, anonymous=401)},
        {"url": lambda n: f"/api/v1/indicateurs?{PERIOD}&programme={_programme_id(n, far=True)}",
         "scopes": ["indicators:read"], "expect": expect(404, anonymous=401, admin=200)},
        {"url": "/api/v1/indicateurs", "scopes": ["directory:read"], "expect": expect(403, anonymous=401, funder=401)},
    ],
    "api.indicator_definitions": [
        {"url": "/api/v1/indicateurs/definitions", "scopes": ["indicators:read"], "expect": expect(200, anonymous=401)},
        {"url": "/api/v1/indicateurs/definitions", "scopes": ["directory:read"],
         "expect": expect(403, anonymous=401, funder=401)},
    ],
}
