"""The pathway pages as mediators and coordinators use them: forms, French messages, scope."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from mediation.cases.models import Case
from mediation.pathways.models import Assessment, Enrolment, MilestoneValidation, PathwayTemplate, Referral
from tests.helpers import count_queries
from tests.pathways.conftest import MAITRISE

GRID_FORM = {"autonomy_appareils": "entierement_accompagne", "autonomy_internet": "entierement_accompagne",
             "autonomy_communication": "partiellement_autonome", "autonomy_demarches": "entierement_accompagne",
             "autonomy_securite": "autonome", "comfort": "2", "equipment": ["smartphone"], "needs": ["email"],
             "language": "français", "moment": "initial"}


def raw(response) -> str:
    return response.get_data(as_text=True)


def text(response) -> str:
    """What a reader reads: tags removed, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw(response)))).replace(" .", ".")


def test_a_mediator_enrols_diagnoses_and_validates_from_the_case_page(client, login, session, network, template,
                                                                      person, steps):
    case = person()
    login(client, network.mediator)
    assert f'href="/parcours/dossiers/{case.id}"' in raw(client.get(f"/dossiers/{case.id}"))  # link from the case page
    page = text(client.get(f"/parcours/dossiers/{case.id}"))
    assert "Cette personne ne suit encore aucun parcours." in page and "Inscrire au parcours" in page
    response = client.post(f"/parcours/dossiers/{case.id}/inscription", data={"template_id": template.id})
    assert response.headers["Location"].endswith(f"/parcours/dossiers/{case.id}/diagnostic")
    page = text(client.post(f"/parcours/dossiers/{case.id}/diagnostic", data={"comfort": "9"}))
    assert "Le formulaire contient" in page and "L'aisance se note de 1 à 5" in page
    assert ("Utiliser un ordinateur, un smartphone ou une tablette : Veuillez indiquer le niveau d'autonomie dans "
            "ce domaine") in page
    assert session.scalar(sa.select(sa.func.count(Assessment.id))) == 0
    response = client.post(f"/parcours/dossiers/{case.id}/diagnostic", data=GRID_FORM)
    assert response.status_code == 302
    enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.case_id == case.id))
    page = text(client.get(f"/parcours/dossiers/{case.id}"))
    assert "Prochaine étape conseillée : Prendre en main un ordinateur ou un smartphone" in page
    assert "Diagnostic du" in page and "Avec guidage (1/3)" in page
    # prerequisites refused on the server, whatever the page shows
    page = text(client.post(f"/parcours/inscriptions/{enrolment.id}/etapes/{steps[1].id}/valider",
                            data={"narrative": "Cherche seule un horaire de bus."}))
    assert ("L'étape « Naviguer et chercher sur internet » ne peut pas encore être validée : il faut d'abord "
            "valider « Prendre en main un ordinateur ou un smartphone ».") in page
    page = text(client.post(f"/parcours/inscriptions/{enrolment.id}/etapes/{steps[0].id}/valider", data={}))
    assert "Indiquez l'activité où l'étape a été observée" in page
    for step in steps[:2]:
        response = client.post(f"/parcours/inscriptions/{enrolment.id}/etapes/{step.id}/valider",
                               data={"narrative": "Seule, sans aide.", "pix_score": "12"})
        assert response.status_code == 302
    page = text(client.get(f"/parcours/dossiers/{case.id}"))
    assert "Étapes validées : 2 sur 8" in page and "Niveaux atteints : 1 sur 4" in page
    assert "Prochaine étape conseillée : Créer et utiliser une adresse e-mail" in page
    assert session.scalar(sa.select(sa.func.count(MilestoneValidation.id))) == 3


def test_a_structure_outside_the_consent_sees_nothing(client, login, session, network, enrolled, steps):
    enrolment = enrolled()  # structure consent only
    login(client, network.mediator_b)
    assert client.get(f"/parcours/dossiers/{enrolment.case_id}").status_code == 404
    assert client.get(f"/parcours/inscriptions/{enrolment.id}/etapes/{steps[0].id}/valider").status_code == 404
    assert client.post(f"/parcours/inscriptions/{enrolment.id}/etapes/{steps[0].id}/valider",
                       data={"narrative": "x"}).status_code == 404
    assert client.get(f"/parcours/dossiers/{enrolment.case_id}/orienter").status_code == 404
    assert session.scalar(sa.select(sa.func.count(MilestoneValidation.id))) == 0


def test_referral_records_the_network_consent_in_place(client, login, session, network, person):
    """No network consent yet: the referral form offers to record it right there, instead of
    sending the user to the case page; unticked, nothing is recorded nor sent."""
    from mediation.audit.models import AuditEvent
    from mediation.cases.enums import ConsentScope
    from mediation.cases.models import Consent

    network.structure_b.services = [MAITRISE]
    case = person()
    login(client, network.mediator)
    page = text(client.get(f"/parcours/dossiers/{case.id}/orienter?service={MAITRISE}"))
    assert "La personne accepte le partage au sein du réseau" in page
    chosen = {"service": MAITRISE, "to_structure_id": network.structure_b.id, "motive": "Atelier"}
    page = text(client.post(f"/parcours/dossiers/{case.id}/orienter", data=chosen))
    assert "n'a pas consenti au partage" in page and "Atelier" in page  # what was typed is kept
    assert session.scalar(sa.select(sa.func.count(Referral.id))) == 0
    network_consents = sa.select(Consent).where(Consent.scope == ConsentScope.RESEAU)
    assert session.scalars(network_consents).all() == []
    audited = sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "consent.recorded")
    audited_before = session.scalar(audited)
    response = client.post(f"/parcours/dossiers/{case.id}/orienter", data={**chosen, "network_consent": "y"})
    assert response.status_code == 302
    referral = session.scalar(sa.select(Referral))
    assert referral.to_structure_id == network.structure_b.id
    [consent] = session.scalars(network_consents).all()
    assert (consent.beneficiary_id, consent.scope, consent.structure_id, consent.recorded_by_id) == (
        case.beneficiary_id, ConsentScope.RESEAU, case.structure_id, network.mediator.id)
    assert session.scalar(audited) == audited_before + 1
    # Now given, the form no longer asks for it.
    page = text(client.get(f"/parcours/dossiers/{case.id}/orienter"))
    assert "La personne accepte le partage au sein du réseau" not in page


def test_referral_pages_from_suggestion_to_acceptance(client, login, session, network, person):
    network.structure_b.services = [MAITRISE]
    network.structure_b.horaires = "Tu-Sa 10:00-18:00"
    case = person(network_consent=True)
    login(client, network.mediator)
    page = text(client.get(f"/parcours/dossiers/{case.id}/orienter?service={MAITRISE}"))
    assert "Médiathèque B" in page and "Du mardi au samedi : 10 h – 18 h" in page
    page = text(client.post(f"/parcours/dossiers/{case.id}/orienter", data={"service": MAITRISE}))
    assert "Veuillez choisir la structure vers laquelle orienter la personne" in page
    response = client.post(f"/parcours/dossiers/{case.id}/orienter",
                           data={"service": MAITRISE, "to_structure_id": network.structure_b.id, "motive": "Atelier"})
    assert response.status_code == 302
    referral = session.scalar(sa.select(Referral))
    client.post("/deconnexion")
    login(client, network.mediator_b)
    page = text(client.get("/parcours"))
    assert "Nouvelle orientation reçue" in page and "Orientations reçues (1 en attente)" in page
    page = text(client.get("/parcours/orientations?sens=recues"))
    assert "Jeanne Parcours" in page and "En attente de réponse" in page
    page = text(client.post(f"/parcours/orientations/{referral.id}/refuser", data={}, follow_redirects=True))
    assert "Veuillez indiquer le motif du refus" in page
    response = client.post(f"/parcours/orientations/{referral.id}/accepter")
    assert response.headers["Location"].endswith(f"/parcours/dossiers/{case.id}")
    assert session.get(Case, case.id).structure_id == network.structure_b.id
    assert client.post(f"/parcours/orientations/{referral.id}/inconnue").status_code == 404


def test_coordinator_reassigns_and_a_stale_form_shows_the_conflict(client, login, session, network, person):
    case = person(network_consent=True)
    login(client, network.coordinator)
    page = text(client.get(f"/parcours/dossiers/{case.id}"))
    assert "Bénéficiaire n° " in page and "Jeanne" not in page  # coordinators do not see names
    page = raw(client.get(f"/parcours/dossiers/{case.id}/reaffecter"))
    assert f'value="{network.structure_b.id}:{network.mediator_b.id}"' in page
    assert re.search(rf'<input[^>]*name="version"[^>]*value="{case.version}"', page)
    stale = case.version
    response = client.post(f"/parcours/dossiers/{case.id}/reaffecter", data={
        "version": stale, "target": f"{network.structure_b.id}:{network.mediator_b.id}", "reason": "demenagement"})
    assert response.status_code == 302
    page = text(client.post(f"/parcours/dossiers/{case.id}/reaffecter", data={
        "version": stale, "target": f"{network.structure_a.id}:0", "reason": "effectifs"}))
    assert "Ce dossier vient d'être modifié par quelqu'un d'autre" in page
    assert session.get(Case, case.id).structure_id == network.structure_b.id


def test_mediators_cannot_reassign(client, login, network, person):
    case = person(network_consent=True)
    login(client, network.mediator)
    assert client.get(f"/parcours/dossiers/{case.id}/reaffecter").status_code == 403
    assert client.post(f"/parcours/dossiers/{case.id}/reaffecter", data={
        "version": case.version, "target": f"{network.structure_b.id}:0", "reason": "effectifs"}).status_code == 403
    assert client.get("/parcours/reaffectations").status_code == 403


def test_bulk_page_moves_the_ticked_cases(client, login, session, network, person):
    cases = [person(network_consent=True, last_name=f"Lot{i}") for i in range(2)]
    login(client, network.coordinator)
    page = raw(client.get(f"/parcours/reaffectations?mediateur={network.mediator.id}"))
    for c in cases:
        assert f'value="{c.id}:{c.version}"' in page
    response = client.post(f"/parcours/reaffectations?mediateur={network.mediator.id}", data={
        "cases": [f"{c.id}:{c.version}" for c in cases], "target": f"{network.structure_b.id}:0",
        "reason": "depart_mediateur"}, follow_redirects=True)
    assert "2 dossiers réaffectés à « Médiathèque B »" in text(response)
    assert {session.get(Case, c.id).structure_id for c in cases} == {network.structure_b.id}


def test_reassignment_records_the_network_consent_in_place(client, login, session, network, person):
    from mediation.cases.enums import ConsentScope
    from mediation.cases.models import Consent

    case = person()  # structure consent only
    login(client, network.coordinator)
    page = text(client.get(f"/parcours/dossiers/{case.id}/reaffecter"))
    assert "La personne accepte le partage au sein du réseau" in page
    chosen = {"version": case.version, "target": f"{network.structure_b.id}:0", "reason": "demenagement"}
    page = text(client.post(f"/parcours/dossiers/{case.id}/reaffecter", data=chosen))
    assert "n'a pas consenti au partage" in page and "cochez « La personne accepte" in page
    assert session.get(Case, case.id).structure_id == network.structure_a.id
    network_consents = sa.select(Consent).where(Consent.scope == ConsentScope.RESEAU)
    assert session.scalars(network_consents).all() == []
    response = client.post(f"/parcours/dossiers/{case.id}/reaffecter", data={**chosen, "network_consent": "y"})
    assert response.status_code == 302
    assert session.get(Case, case.id).structure_id == network.structure_b.id
    [consent] = session.scalars(network_consents).all()
    assert (consent.structure_id, consent.recorded_by_id) == (network.structure_a.id, network.coordinator.id)


def test_bulk_page_checks_nothing_shows_consent_and_filters(client, login, session, network, person):
    """Nothing pre-ticked; a consent column and a filter; coordinators tell cases apart without
    names (number, commune, pathway, last activity)."""
    with_consent = person(network_consent=True, last_name="Avec", residence_commune_id=network.commune_b.id)
    without = person(last_name="Sans")
    login(client, network.coordinator)
    url = f"/parcours/reaffectations?mediateur={network.mediator.id}"
    page = raw(client.get(url))
    boxes = re.findall(r'<input type="checkbox" name="cases"[^>]*>', page)
    assert len(boxes) == 2 and not any("checked" in b for b in boxes)
    assert "Consentement réseau" in page and "Jeanne" not in page  # no names for coordinators
    row = re.search(rf'id="case-{with_consent.id}".*?</tr>', page, re.S).group(0)
    assert f"Bénéficiaire n° {with_consent.beneficiary_id}" in row and network.commune_b.name in row
    assert re.search(r"<td>Oui</td>", row)
    row = re.search(rf'id="case-{without.id}".*?</tr>', page, re.S).group(0)
    assert re.search(r"<td>Non</td>", row)
    page = raw(client.get(url + "&consentement=avec"))
    assert f'id="case-{with_consent.id}"' in page and f'id="case-{without.id}"' not in page
    page = raw(client.get(url + "&consentement=sans"))
    assert f'id="case-{without.id}"' in page and f'id="case-{with_consent.id}"' not in page
    # Moving the consenting ones only, as the filter shows them, succeeds.
    response = client.post(url + "&consentement=avec", data={
        "cases": [f"{with_consent.id}:{with_consent.version}"], "target": f"{network.structure_b.id}:0",
        "reason": "depart_mediateur"}, follow_redirects=True)
    assert "1 dossier réaffecté à « Médiathèque B »" in text(response)
    assert session.get(Case, without.id).structure_id == network.structure_a.id


def test_coordinator_designs_a_template_and_sees_versions(client, login, session, network, template, enrolled):
    enrolled()
    login(client, network.coordinator)
    page = text(client.get(f"/parcours/modeles/{template.id}"))
    assert "1 personne inscrite à cette version" in page and "toute modification créera la version 2" in page
    level = template.current_version.levels[0]
    response = client.post(f"/parcours/modeles/{template.id}/niveaux/{level.id}/etapes/nouvelle", data={
        "title": "Allumer une tablette", "criteria": "Seule.", "pix_codes": ["5.2"], "pix_level": "1",
        "digcomp_codes": ["5.1"], "awards_badge": "y"}, follow_redirects=True)
    page = text(response)
    assert "a créé la version 2" in page and "Allumer une tablette" in page
    assert "Pix 5.2 — Construire un environnement numérique (niveau 1)" in page
    page = text(client.get(f"/parcours/modeles/{template.id}?version=1"))
    assert "Allumer une tablette" not in page and "Version antérieure" in page
    page = text(client.post(f"/parcours/modeles/{template.id}/niveaux/nouveau", data={"title": ""}))
    assert "Veuillez donner un titre au niveau" in page


def test_mediators_read_templates_and_funders_see_nothing(client, login, network, template):
    login(client, network.mediator)
    assert client.get(f"/parcours/modeles/{template.id}").status_code == 200
    assert client.post(f"/parcours/modeles/{template.id}/niveaux/nouveau", data={"title": "x"}).status_code == 403
    client.post("/deconnexion")
    login(client, network.funder)
    assert client.get("/parcours").status_code == 403


def test_a_coordinator_creates_the_default_template_once(client, login, session, network):
    login(client, network.coordinator)
    page = text(client.get("/parcours/modeles"))
    assert "Créer le parcours par défaut" in page
    client.post("/parcours/modeles/par-defaut")
    assert session.scalar(sa.select(sa.func.count(PathwayTemplate.id))) == 1
    assert "Créer le parcours par défaut" not in text(client.get("/parcours/modeles"))


def test_list_pages_do_not_query_per_row(client, login, session, network, person, template):
    from mediation.pathways import referrals, versions

    login(client, network.mediator_b)

    def measure(url):
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    def refer(n):
        for i in range(n):
            case = person(network_consent=True, last_name=f"Liste{i}")
            referrals.create_referral(session, network.mediator, case,
                                      referrals.ReferralInput(to_structure_id=network.structure_b.id))
        session.commit()  # their audit events are sealed now, not by the measured request's commit

    refer(1)
    one = measure("/parcours/orientations?sens=recues")
    refer(4)
    assert measure("/parcours/orientations?sens=recues") == one
    one = measure("/parcours/modeles")
    for i in range(3):
        versions.create_default_template(session, network.coordinator, network.territory.id).name += f" {i}"
    session.commit()
    assert measure("/parcours/modeles") == one


def test_the_case_timeline_shows_pathway_events(client, login, session, network, enrolled, validate, steps):
    from mediation.pathways import reassignment

    enrolment = enrolled(network_consent=True)
    validate(enrolment, steps[0])
    case = enrolment.case
    reassignment.reassign(session, network.coordinator, case, target=reassignment.Target(network.structure_a.id,
                                                                                         network.aidant.id),
                          reason="effectifs", expected_version=case.version)
    login(client, network.aidant)
    page = text(client.get(f"/dossiers/{case.id}"))
    for label in ("Inscription à un parcours", "Étape de parcours validée", "Dossier réaffecté"):
        assert label in page


def test_coordinators_tell_cases_apart_without_names(client, login, network, session, enrolled, steps, validate,
                                                     person, make_commune, template, app):
    """« Bénéficiaire n° 5331 » alone says nothing: the case number, the commune of residence and
    where the person is on the pathway are beside it, for the whole page in constant queries."""
    elbeuf = make_commune(network.territory, name="Elbeuf")
    enrolment = enrolled(residence_commune_id=elbeuf.id)
    for step in steps[:2]:  # level 1's two steps: level 1 reached
        validate(enrolment, step)
    session.commit()  # the setup's audit events sealed now, not by the page's commit
    login(client, network.coordinator)

    def listing():
        with count_queries() as statements:
            page = html.unescape(client.get("/dossiers").get_data(as_text=True))
        return page, len(statements)

    page, queries = listing()
    assert f"Dossier n° {enrolment.case_id} · Elbeuf · « {template.name} » : niveau 1 atteint" in page
    for _ in range(5):
        enrolled()
        person()
    session.commit()
    page, more = listing()
    assert more == queries
    assert "commune non communiquée" in page and "aucun niveau atteint" in page
    # mediators see the names, not this line
    mediator = app.test_client()
    login(mediator, network.mediator)
    assert f"Dossier n° {enrolment.case_id} ·" not in mediator.get("/dossiers").get_data(as_text=True)


def test_coordinators_see_the_case_and_commune_of_a_referral(client, login, network, session, person, make_commune):
    from mediation.pathways import referrals

    elbeuf = make_commune(network.territory, name="Elbeuf")
    case = person(network_consent=True, residence_commune_id=elbeuf.id)
    referrals.create_referral(session, network.mediator, case,
                              referrals.ReferralInput(to_structure_id=network.structure_b.id))
    login(client, network.coordinator)
    page = client.get("/parcours/orientations?sens=envoyees").get_data(as_text=True)
    assert f"Bénéficiaire n° {case.beneficiary_id}" in page
    assert f"Dossier n° {case.id} · Elbeuf" in page


def test_bulk_page_of_a_large_network_filters_and_hands_over_by_search(client, login, session, network, person,
                                                                      searches):
    """Beyond MEDIATION_PICK_LIST_LIMIT structures or referents, the filters take a part of a name and
    the structure and referent to hand over to are found by « Rechercher », ticked cases kept."""
    cases = [person(network_consent=True, last_name=f"Lot{i}") for i in range(2)]
    login(client, network.coordinator)
    page = raw(client.get("/parcours/reaffectations"))
    assert 'name="mediateur_nom"' in page and '<select id="mediateur"' not in page
    url = f"/parcours/reaffectations?mediateur_nom={network.mediator.last_name.upper()}"
    page = raw(client.get(url))
    for c in cases:
        assert f'value="{c.id}:{c.version}"' in page
    ticked = [f"{c.id}:{c.version}" for c in cases]
    page = raw(client.post(url, data={"cases": ticked[:1], "target-recherche": "mediatheque",
                                       "rechercher_choix": "target"}))
    target = re.search(r'<select[^>]*name="target".*?</select>', page, re.S).group(0)
    assert re.findall(r">([^<]*)</option>", target) == [
        "— Choisir —", "Médiathèque B — sans référent", f"Médiathèque B — {network.mediator_b.full_name}"]
    assert re.search(rf'<input type="checkbox" name="cases" id="case-{cases[0].id}" value="{ticked[0]}" checked',
                     page) and f'value="{ticked[1]}" checked' not in page
    assert {session.get(Case, c.id).structure_id for c in cases} == {network.structure_a.id}  # nothing moved
    # a referent found by their name
    page = raw(client.post(url, data={"target-recherche": network.mediator_b.last_name, "rechercher_choix": "target"}))
    target = re.search(r'<select[^>]*name="target".*?</select>', page, re.S).group(0)
    assert re.findall(r">([^<]*)</option>", target) == [
        "— Choisir —", f"Médiathèque B — {network.mediator_b.full_name}"]
    response = client.post(url, data={"cases": ticked, "target": f"{network.structure_b.id}:0",
                                      "reason": "depart_mediateur"}, follow_redirects=True)
    assert "2 dossiers réaffectés à « Médiathèque B »" in text(response)
