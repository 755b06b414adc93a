"""Issuing: automatic at validation (configurable per pathway template) or by hand; one live badge
per validation; revoke and revoke-and-reissue audited; bulk issuing for a workshop as a job; the
staff pages."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.badges import services
from mediation.badges.models import Assertion, BadgeClass
from mediation.cases.services import live_case
from mediation.jobs.models import Job, JobStatus
from tests.helpers import count_queries


def actions(session) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_automatic_issuing_on_validation_with_evidence(session, enrolled, steps, validate, workshop):
    enrolment = enrolled(email="a@example.org")
    activity = workshop([enrolment.case], title="Premiers pas sur ordinateur")
    validate(enrolment, steps[0], activity=activity)
    [assertion] = services.assertions_of(session, enrolment.case.beneficiary_id)
    assert assertion.automatic and assertion.structure.name == "France Services A"
    assert assertion.activity_id == activity.id
    assert "France Services A" in assertion.evidence and "Premiers pas sur ordinateur" in assertion.evidence
    assert "badge.issued" in actions(session)


def test_manual_issuing_when_the_template_says_so(session, client, login, network, template, enrolled, steps,
                                                  validate):
    services.set_auto_issue(session, network.coordinator, template, False)
    enrolment = enrolled(email="a@example.org")
    validation = validate(enrolment, steps[0])
    assert services.assertions_of(session, enrolment.case.beneficiary_id) == []
    assert services.pending_validations(session, enrolment.case) == [validation]
    session.commit()
    login(client, network.mediator)
    page = client.get(f"/badges/dossiers/{enrolment.case_id}").get_data(as_text=True)
    assert "Étapes validées sans badge" in page
    response = client.post(f"/badges/dossiers/{enrolment.case_id}/delivrer", data={"validation_id": validation.id})
    assert response.status_code == 302
    [assertion] = services.assertions_of(session, enrolment.case.beneficiary_id)
    assert not assertion.automatic and assertion.issued_by_id == network.mediator.id
    again = client.post(f"/badges/dossiers/{enrolment.case_id}/delivrer", data={"validation_id": validation.id},
                        follow_redirects=True)
    assert "déjà été délivré" in again.get_data(as_text=True)


def test_milestone_without_badge_issues_nothing(session, network, template, enrolled, steps, validate):
    from mediation.pathways import versions

    # the first version has nobody enrolled yet: edited in place
    first = steps[0]
    versions.update_milestone(session, network.coordinator, template, first.id, versions.MilestoneInput(
        title=first.title, criteria=first.criteria, service=first.service, awards_badge=False,
        alignments=[versions.Alignment(a.framework, a.code, a.level) for a in first.alignments]))
    enrolment = enrolled(email="a@example.org")
    validate(enrolment, first)
    assert services.assertions_of(session, enrolment.case.beneficiary_id) == []


def test_revoke_and_reissue_through_the_pages(session, client, login, network, issued, attach_email):
    assertion = attach_email(issued(email="ancienne@example.org"))  # the person attached it to their e-mail
    person = assertion.beneficiary
    person.email = "nouvelle@example.org"
    case = live_case(session, person.id)
    session.commit()
    login(client, network.mediator)
    form = client.get(f"/badges/dossiers/{case.id}/badges/{assertion.id}/redelivrer")
    assert form.status_code == 200
    empty = client.post(f"/badges/dossiers/{case.id}/badges/{assertion.id}/redelivrer", data={"reason": ""})
    assert "Indiquez le motif" in empty.get_data(as_text=True)
    done = client.post(f"/badges/dossiers/{case.id}/badges/{assertion.id}/redelivrer",
                       data={"reason": "Adresse e-mail corrigée"})
    assert done.status_code == 302
    session.expire_all()
    old = session.get(Assertion, assertion.id)
    new = session.scalar(sa.select(Assertion).where(Assertion.reissue_of_id == old.id))
    assert old.is_revoked and old.revocation_reason == "Adresse e-mail corrigée"
    assert new.validation_id == old.validation_id and not new.is_revoked
    assert services.recipient_matches(new, "nouvelle@example.org")
    assert {"badge.revoked", "badge.reissued"} <= set(actions(session))
    twice = client.post(f"/badges/dossiers/{case.id}/badges/{assertion.id}/revoquer", data={"reason": "x"})
    assert "déjà révoqué" in twice.get_data(as_text=True)


def test_endorsement_settings_and_issuer_pages(session, client, login, network, template, issued):
    assertion = issued(email="a@example.org")
    session.commit()
    login(client, network.coordinator)
    badge = assertion.badge_class
    page = client.get(f"/badges/modeles/{badge.id}")
    assert page.status_code == 200
    response = client.post(f"/badges/modeles/{badge.id}/approbations",
                           data={"structure_id": network.structure_b.id, "comment": "Reconnu"})
    assert response.status_code == 302
    session.expire_all()
    assert [e.endorser.name for e in session.get(BadgeClass, badge.id).live_endorsements] == ["Médiathèque B"]
    far = client.post(f"/badges/modeles/{badge.id}/approbations",
                      data={"structure_id": network.structure_far.id, "comment": "Reconnu"}, follow_redirects=True)
    assert "Choisissez une structure de votre territoire" in far.get_data(as_text=True)
    issuer = badge.issuer
    bad = client.post(f"/badges/emetteurs/{issuer.id}", data={"name": "Réseau", "email": "pas-un-email", "url": "x"})
    html = bad.get_data(as_text=True)
    assert "adresse e-mail valide" in html and "commençant par https://" in html
    good = client.post(f"/badges/emetteurs/{issuer.id}", data={
        "name": "Réseau numérique de la Métropole", "email": "reseau@metropole.example.org",
        "url": "https://metropole.example.org", "telephone": "02 35 00 00 00"})
    assert good.status_code == 302
    settings = client.post(f"/badges/parcours/{template.id}", data={"publier": "1"})
    assert settings.status_code == 302
    assert services.auto_issue(session, template.id) is False
    assert session.scalar(sa.select(sa.func.count(BadgeClass.id))) == 13  # 8 steps, 4 levels, the pathway


def test_workshop_bulk_issuing_job(app, session, client, login, network, template, enrolled, steps, workshop):
    app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    try:
        people = [enrolled(email=f"p{n}@example.org", first_name=f"P{n}").case for n in range(3)]
        outsider = enrolled(email="x@example.org").case
        activity = workshop(people + [outsider])
        from mediation.pathways.models import Enrolment

        session.execute(sa.update(Enrolment).where(Enrolment.case_id == outsider.id).values(state="abandonne"))
        session.commit()
        login(client, network.mediator)
        page = client.get(f"/badges/ateliers/{activity.id}")
        assert page.status_code == 200 and steps[0].title in page.get_data(as_text=True)
        response = client.post(f"/badges/ateliers/{activity.id}", data={"milestone_id": steps[0].id})
        assert response.status_code == 302 and "/taches/" in response.headers["Location"]
        job = session.scalar(sa.select(Job).order_by(Job.id.desc()))
        assert job.status == JobStatus.DONE, job.error
        assert job.progress == job.total == 4
        assert job.result["Badges délivrés"] == 3 and job.result["Étapes validées"] == 3, job.result
        for case in people:
            [assertion] = services.assertions_of(session, case.beneficiary_id)
            assert assertion.activity_id == activity.id
        detail = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Badges délivrés" in detail
        # a second run issues nothing new
        client.post(f"/badges/ateliers/{activity.id}", data={"milestone_id": steps[0].id})
        job = session.scalar(sa.select(Job).order_by(Job.id.desc()))
        assert job.result["Badges délivrés"] == 0
    finally:
        app.config["MEDIATION_JOBS_BACKEND"] = None


def test_workshop_bulk_with_manual_issuing_and_missing_prerequisites(app, session, network, template, enrolled,
                                                                    steps, workshop):
    from mediation.badges import bulk

    app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    try:
        services.set_auto_issue(session, network.coordinator, template, False)
        people = [enrolled(email=f"p{n}@example.org").case for n in range(2)]
        activity = workshop(people)
        job = bulk.start(session, network.mediator, activity, steps[0].id, network.structure_a.id)
        assert job.result["Badges délivrés"] == 2
        blocked = bulk.start(session, network.mediator, activity, steps[3].id, network.structure_a.id)
        assert blocked.result["Badges délivrés"] == 0
        assert any("prérequis" in key for key in blocked.result)
    finally:
        app.config["MEDIATION_JOBS_BACKEND"] = None


def test_public_verification_link(session, client, issued, network, attach_email):
    assertion = attach_email(issued(email="a@example.org"))
    session.commit()
    page = client.get(f"/badges/verifier/{assertion.uid}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Ce badge est vrai et valable." in html and "Jeanne" not in html
    match = client.post(f"/badges/verifier/{assertion.uid}", data={"contact": "A@example.org"})
    assert "Oui : ce badge a été donné" in match.get_data(as_text=True)
    services.revoke(session, network.mediator, assertion, "Erreur")
    session.commit()
    assert "retiré" in client.get(f"/badges/verifier/{assertion.uid}").get_data(as_text=True)


def _queries(client, url) -> int:
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return sum(1 for statement in statements if statement.lstrip().upper().startswith("SELECT"))


def test_list_pages_do_not_grow_queries_with_rows(session, client, login, network, issued):
    first = issued(email="p0@example.org")
    session.commit()
    login(client, network.mediator)
    case = live_case(session, first.beneficiary_id)
    small_index, small_person = _queries(client, "/badges/"), _queries(client, f"/badges/dossiers/{case.id}")
    for n in range(1, 4):
        issued(email=f"p{n}@example.org", first_name=f"P{n}")
    session.commit()
    page = client.get("/badges/").get_data(as_text=True)
    assert page.count('href="/badges/dossiers/') >= 4
    assert _queries(client, "/badges/") == small_index
    assert _queries(client, f"/badges/dossiers/{case.id}") == small_person


def test_an_endorsing_structure_is_found_by_search_in_a_large_network(session, client, login, network, template,
                                                                      issued, searches):
    """Beyond MEDIATION_PICK_LIST_LIMIT structures, the endorsing structure is searched: the search
    comes back to the badge's page with the matches (the coordinator's territory only), nothing saved."""
    assertion = issued(email="a@example.org")
    session.commit()
    login(client, network.coordinator)
    badge = assertion.badge_class
    page = client.get(f"/badges/modeles/{badge.id}").get_data(as_text=True)
    assert 'name="structure_id-recherche"' in page and "Médiathèque B" not in page
    response = client.post(f"/badges/modeles/{badge.id}/approbations",
                           data={"structure_id-recherche": "médiathèque", "rechercher_choix": "structure_id"})
    assert response.status_code == 302 and "#structure_id" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<option selected value="{network.structure_b.id}">Médiathèque B</option>' in page  # the one match
    page = client.get(f"/badges/modeles/{badge.id}?structure_id-recherche=ccas").get_data(as_text=True)
    assert "Aucun résultat" in page and "CCAS Lointain" not in page  # another territory's
    session.expire_all()
    assert session.get(BadgeClass, badge.id).live_endorsements == []
    response = client.post(f"/badges/modeles/{badge.id}/approbations",
                           data={"structure_id": network.structure_b.id, "comment": "Reconnu"})
    session.expire_all()
    assert [e.endorser.name for e in session.get(BadgeClass, badge.id).live_endorsements] == ["Médiathèque B"]
