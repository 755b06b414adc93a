"""Indicators of the equipment library (devices lent and given per period, loans overdue at its end,
people equipped) with their disclosure links, and the CSV/XLSX exports of the inventory."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from mediation.equipment import services
from mediation.evaluation import disclosure, indicators
from mediation.evaluation.scope import EvaluationFilter, Scope, authorise

START, END = date(2025, 1, 1), date(2025, 12, 31)


@pytest.fixture
def scope_for(session, network):
    """The evaluation scope of ``user`` over 2025 (as the evaluation tests build it)."""
    def make(user=None, **filters) -> Scope:
        user = user or network.admin
        values = {"start": START, "end": END, **filters}
        return Scope(session, user, authorise(session, user, EvaluationFilter(**values)))

    return make


@pytest.fixture
def handed(session, network, make_device, make_beneficiary, lend):
    p1, p2, p3, p4 = (make_beneficiary(last_name=f"Parc{i}") for i in range(1, 5))
    returned = lend(make_device(), p1, started_on=date(2025, 3, 1), due_on=date(2025, 3, 15))
    services.return_device(session, network.mediator, returned, condition="bon", returned_on=date(2025, 3, 10))
    lend(make_device(), p2, started_on=date(2025, 11, 1), due_on=date(2025, 12, 1))  # still out: overdue
    lend(make_device(), p1, kind="don", started_on=date(2025, 5, 1))
    lend(make_device(), p3, kind="achat_solidaire", price="10", started_on=date(2025, 6, 1))
    lend(make_device(), p4, started_on=date(2026, 1, 5), due_on=date(2026, 2, 1))  # after the period
    far = make_beneficiary(actor=network.mediator_far, structure=network.structure_far)
    lend(make_device(actor=network.mediator_far, structure=network.structure_far), far,
         actor=network.mediator_far, started_on=date(2025, 4, 1), due_on=date(2025, 4, 2))


def test_indicators_count_the_period_in_the_coordinators_territory(handed, scope_for, network):
    d = indicators.compute_dashboard(scope_for(network.coordinator), threshold=1)
    assert d.figure("realisations.appareils_pretes").value == 2
    assert d.figure("realisations.appareils_donnes").value == 2
    assert d.figure("realisations.prets_en_retard").value == 1
    assert d.figure("realisations.personnes_equipees_parc").value == 3
    table = next(t for s in d.sections for t in s.tables if t.code == "realisations.materiel_remis")
    assert [(r.key, r.cells[0].value) for r in table.rows] == [("don", 1), ("pret", 2), ("achat_solidaire", 1)]
    everything = indicators.compute_dashboard(scope_for(), threshold=1)  # the administrator sees the far loan
    assert everything.figure("realisations.appareils_pretes").value == 3
    assert everything.figure("realisations.prets_en_retard").value == 2


def test_small_counts_are_hidden_and_linked_to_their_table(handed, scope_for, network):
    d = indicators.compute_dashboard(scope_for(network.coordinator), threshold=5)
    assert d.figure("realisations.appareils_pretes").mask
    assert d.figure("realisations.prets_en_retard").mask
    model = disclosure.build_model(d)
    labels = {e.label for e in model.equations}
    assert {"appareils prêtés", "appareils donnés ou vendus", "personnes équipées par l'inventaire"} <= labels


def _login_get(client, login, user, url):
    login(client, user)
    return client.get(url)


def test_csv_export_names_no_one(handed, client, login, network):
    response = _login_get(client, login, network.mediator, "/materiel/inventaire.csv")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffStructure;Type;Modèle")
    assert "Parc1" not in text and "Bénéficiaire n°" in text
    assert text.count("\r\n") == 1 + 5  # header + structure A's five devices
    assert ";Oui;" in text  # the overdue loan


def test_xlsx_export_of_a_coordinator(handed, client, login, network):
    response = _login_get(client, login, network.coordinator, "/materiel/inventaire.xlsx?etat=prete")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Structure" and len(rows) == 1 + 2  # the two devices still out in the territory
    assert all(r[8] == "Prêté" for r in rows[1:])
