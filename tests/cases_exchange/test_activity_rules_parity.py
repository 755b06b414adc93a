"""One set of activity rules: the form/API service (log_activity) and the import refuse the same
inputs under the same field with the same French message (the import writes it after « Ligne N,
colonne « … » : », with a lower-case first letter)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mediation.cases import exchange
from mediation.cases.enums import ActivityType, DemarcheThematique, Materiel, PlaceType, Thematique
from mediation.cases.exchange_models import ImportKind
from mediation.errors import ValidationFailed
from mediation.types import local_today
from tests.cases_exchange.conftest import csv_bytes
from tests.cases_exchange.test_import import ACT_HEADER, act_row

# A week ahead, not tomorrow: still in the future if the run crosses midnight (Paris time) after
# the module was imported.
NEXT_WEEK = local_today() + timedelta(days=7)
AIDE = Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES
DEMARCHE = next(iter(DemarcheThematique))
COLLECTIF = {"Type": "Atelier collectif", "Participants": "1"}

# (form/API overrides, import cells, field, column of the import, message)
CASES = [
    ({"date": NEXT_WEEK}, {"Date": NEXT_WEEK.strftime("%d/%m/%Y")},
     "date", "Date", "La date ne peut pas être dans le futur"),
    ({"date": date(1999, 5, 1)}, {"Date": "01/05/1999"},
     "date", "Date", "Veuillez renseigner une date valide"),
    ({"duration_min": 0}, {"Durée (min)": "0"}, "duration_min", "Durée (min)", "Veuillez renseigner une durée"),
    ({"duration_min": 1500}, {"Durée (min)": "1500"},
     "duration_min", "Durée (min)", "La durée doit être comprise entre 1 minute et 24 heures"),
    ({"thematiques": []}, {"Thématique(s) d’accompagnement": ""},
     "thematiques", "Thématique(s) d’accompagnement", "Veuillez renseigner au moins une thématique"),
    ({"thematiques": ["pas_une_thematique"]}, {"Thématique(s) d’accompagnement": "Pas une thématique"},
     "thematiques", "Thématique(s) d’accompagnement", "Thématique inconnue"),
    ({"thematiques": [Thematique.EMAIL.value, DEMARCHE.value]},
     {"Thématique(s) d’accompagnement": f"{Thematique.EMAIL.label}\n{DEMARCHE.label}"},
     "demarches", "Thématique(s) d’accompagnement",
     "Les thématiques de démarches administratives ne sont possibles qu’avec la thématique "
     "« Aide aux démarches administratives »"),
    ({"demarche_name": "APL"}, {"Nom de la démarche administrative": "APL"},
     "demarche_name", "Nom de la démarche administrative",
     "Le nom de la démarche n’est possible qu’avec la thématique « Aide aux démarches administratives »"),
    ({"thematiques": [AIDE.value], "demarche_name": "x" * 201},
     {"Thématique(s) d’accompagnement": AIDE.label, "Nom de la démarche administrative": "x" * 201},
     "demarche_name", "Nom de la démarche administrative", "200 caractères au maximum"),
    ({"materiel": [Materiel.AUCUN.value, Materiel.ORDINATEUR.value]},
     {"Matériel numérique utilisé": f"{Materiel.AUCUN.label}\n{Materiel.ORDINATEUR.label}"},
     "materiel", "Matériel numérique utilisé",
     "« Pas de matériel » ne peut pas être combiné avec un autre matériel"),
    ({"materiel": ["pas_un_materiel"]}, {"Matériel numérique utilisé": "Pas un matériel"},
     "materiel", "Matériel numérique utilisé", "Matériel inconnu"),
    ({"oriented": True, "redirection": "pas_une_structure"},
     {"Bénéficiaire réorienté": "Oui", "Structure de redirection": "Pas une structure"},
     "redirection", "Structure de redirection", "Structure de redirection inconnue"),
    ({"place_type": PlaceType.AUTRE.value, "place_structure_id": None},
     {"Canaux d’accompagnement": "Autre lieu", "Nom du lieu": ""},
     "place_commune_id", "Code Insee", "Veuillez renseigner la commune"),
    ({"place_type": PlaceType.DOMICILE.value, "place_structure_id": None, "place_commune_id": 987654},
     {"Canaux d’accompagnement": "À domicile", "Nom du lieu": "", "Code Insee": "00000"},
     "place_commune_id", "Code Insee", "Commune inconnue"),
    ({"type": ActivityType.COLLECTIF, "workshop_title": "x" * 201}, {**COLLECTIF, "Nom de l’atelier": "x" * 201},
     "workshop_title", "Nom de l’atelier", "200 caractères au maximum"),
]


@pytest.mark.parametrize(("form", "cells", "field", "column", "message"), CASES,
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_form_and_import_refuse_with_the_same_field_and_words(session, network, log_activity, form, cells, field,
                                                               column, message):
    with pytest.raises(ValidationFailed) as refused:
        log_activity(**form)
    assert refused.value.errors == {field: message}

    content = csv_bytes([ACT_HEADER, act_row(network, **cells)])
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES, content,
                                "a.csv")
    assert [(e.line, e.column, e.message) for e in analysis.errors] == [(2, column, message[0].lower() + message[1:])]
    assert exchange.ACTIVITY_FIELD_COLUMNS[field].label == column


def test_the_import_keeps_a_place_the_directory_does_not_hold_as_a_place_of_its_own(session, network,
                                                                                   log_activity):
    """A documented difference: the form refuses an unknown place; the import keeps it as an unlisted
    place (never the importing structure) and says so."""
    with pytest.raises(ValidationFailed) as refused:
        log_activity(place_structure_id=987654)
    assert refused.value.errors == {"place_structure_id": "Lieu d’activité inconnu"}
    content = csv_bytes([ACT_HEADER, act_row(network, **{"Nom du lieu": "Un lieu inconnu"})])
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES, content,
                                "a.csv")
    assert analysis.ok and not analysis.errors
    assert sorted(w.column for w in analysis.warnings) == ["Commune", "Nom du lieu"]  # no commune given
    row = analysis.plan.groups[0][1][0]
    assert row.activity["place_structure_id"] is None and row.place_key is not None
    assert [p["name"] for p in analysis.plan.new_places.values()] == ["Un lieu inconnu"]


def test_reoriented_without_a_structure_is_refused_by_the_form_and_accepted_by_the_import(session, network,
                                                                                         log_activity):
    """As the national tool records it: « Bénéficiaire réorienté : Oui » with no structure named."""
    with pytest.raises(ValidationFailed) as refused:
        log_activity(oriented=True)
    assert refused.value.errors == {"redirection": "Veuillez renseigner la structure de redirection"}
    content = csv_bytes([ACT_HEADER, act_row(network, **{"Bénéficiaire réorienté": "Oui"})])
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES, content,
                                "a.csv")
    assert analysis.ok, [str(e) for e in analysis.errors]
    activity = analysis.plan.groups[0][1][0].activity
    assert activity["oriented"] is True and activity["redirection"] is None
