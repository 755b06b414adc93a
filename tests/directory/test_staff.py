"""Staff services: accounts, roles, deactivation, memberships."""

from datetime import date

import pytest
import sqlalchemy as sa

from mediation.auth.models import Role, User
from mediation.directory import staff
from mediation.directory.models import StaffMembership
from mediation.errors import DomainError, Forbidden, ValidationFailed
from mediation.types import local_today


def person(**overrides):
    data = {"email": "Nouvelle.Personne@Exemple.FR", "first_name": "Nora", "last_name": "Lambert",
            "role": Role.MEDIATOR}
    data.update(overrides)
    return data


def users_count(session):
    return session.scalar(sa.select(sa.func.count(User.id)))


def test_admin_creates_an_account_without_password_and_an_invitation_is_sent(app, session, network, outbox,
                                                                              events):
    user = staff.create_user(session, network.admin, **person(is_conseiller_numerique=True),
                             structure=network.structure_a, started_on=date(2026, 1, 5))
    assert user.email == "nouvelle.personne@exemple.fr"
    assert user.password_hash is None and user.is_conseiller_numerique
    assert [(m.structure_id, m.started_on) for m in user.memberships] == [(network.structure_a.id, date(2026, 1, 5))]
    assert events("user.created")[-1].details == {"role": "mediator"}
    assert events("membership.created")[-1].structure_id == network.structure_a.id
    assert "Nora" not in str(events("user.created")[-1].details)
    message = outbox[-1]
    assert message["To"] == "nouvelle.personne@exemple.fr"
    assert "https://mediation.example.org/mot-de-passe/" in message.get_content()


def test_e_mail_is_unique_whatever_its_case(session, network):
    before = users_count(session)
    with pytest.raises(ValidationFailed) as caught:
        staff.create_user(session, network.admin, **person(email="MED@test.example"), notify=False)
    assert caught.value.errors == {"email": "Un compte existe déjà avec cette adresse e-mail."}
    assert users_count(session) == before


def test_aidant_flag_is_for_mediators_and_asks_for_a_second_factor(session, network):
    """The flag designates an aidant; the habilitation itself is a training record (mediation.training)."""
    with pytest.raises(ValidationFailed) as caught:
        staff.create_user(session, network.admin, **person(role=Role.FUNDER, is_conseiller_numerique=True),
                          notify=False)
    assert "is_conseiller_numerique" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        staff.create_user(session, network.admin, **person(role=Role.FUNDER, is_aidant=True), notify=False)
    assert "is_aidant" in caught.value.errors
    aidant = staff.create_user(session, network.admin, **person(is_aidant=True), notify=False)
    assert aidant.requires_totp


def test_coordinator_creates_mediators_of_their_structures_and_coordinators_of_their_territory(session, network):
    with pytest.raises(ValidationFailed) as caught:
        staff.create_user(session, network.coordinator, **person(), notify=False)
    assert caught.value.errors == {"structure": "Choisissez la structure où travaille cette personne."}
    with pytest.raises(Forbidden):
        staff.create_user(session, network.coordinator, **person(), structure=network.structure_far, notify=False)
    with pytest.raises(Forbidden, match="Administrateur"):
        staff.create_user(session, network.coordinator, **person(role=Role.ADMIN), notify=False)
    with pytest.raises(Forbidden):
        staff.create_user(session, network.coordinator, **person(role=Role.FUNDER), notify=False)
    with pytest.raises(Forbidden):
        staff.create_user(session, network.coordinator, **person(role=Role.COORDINATOR),
                          territory=network.other_territory, notify=False)
    mediator = staff.create_user(session, network.coordinator, **person(), structure=network.structure_b,
                                 notify=False)
    colleague = staff.create_user(session, network.coordinator, **person(email="c@exemple.fr",
                                  role=Role.COORDINATOR), notify=False)
    assert mediator.memberships[0].started_on == local_today()
    assert colleague.territory_id == network.territory.id


def test_a_coordinator_account_needs_a_territory(session, network):
    with pytest.raises(ValidationFailed) as caught:
        staff.create_user(session, network.admin, **person(role=Role.COORDINATOR), notify=False)
    assert caught.value.errors == {"territory": "Choisissez le territoire de ce·tte coordinateur·rice."}


def test_role_change_is_audited_and_clears_mediator_flags(session, network, events):
    staff.change_role(session, network.admin, network.aidant, Role.COORDINATOR, territory=network.territory)
    assert network.aidant.role == Role.COORDINATOR and network.aidant.territory_id == network.territory.id
    assert not network.aidant.is_aidant
    event = events("user.role_changed")[-1]
    assert event.object_id == str(network.aidant.id)
    assert event.details == {"from": "mediator", "to": "coordinator", "territory": network.territory.id,
                             "flags_cleared": True}
    staff.change_role(session, network.admin, network.aidant, Role.FUNDER)
    assert network.aidant.territory_id is None


def test_role_change_limits(session, network):
    with pytest.raises(Forbidden, match="propre compte"):
        staff.change_role(session, network.admin, network.admin, Role.MEDIATOR)
    with pytest.raises(Forbidden):
        staff.change_role(session, network.coordinator, network.mediator, Role.ADMIN)
    with pytest.raises(Forbidden):  # another territory's staff is out of scope
        staff.change_role(session, network.coordinator, network.mediator_far, Role.COORDINATOR)
    with pytest.raises(ValidationFailed, match="déjà ce rôle"):
        staff.change_role(session, network.admin, network.mediator, Role.MEDIATOR)
    staff.change_role(session, network.coordinator, network.mediator, Role.COORDINATOR)
    assert network.mediator.territory_id == network.coordinator.territory_id


def test_deactivate_and_reactivate(session, network, events):
    staff.deactivate_user(session, network.coordinator, network.mediator_b)
    assert not network.mediator_b.is_active_account
    with pytest.raises(DomainError, match="déjà désactivé"):
        staff.deactivate_user(session, network.coordinator, network.mediator_b)
    staff.reactivate_user(session, network.coordinator, network.mediator_b)
    assert network.mediator_b.is_active_account
    assert events("user.deactivated") and events("user.reactivated")
    with pytest.raises(Forbidden):
        staff.deactivate_user(session, network.coordinator, network.coordinator)
    with pytest.raises(Forbidden):
        staff.deactivate_user(session, network.coordinator, network.admin)


def test_update_user_profile(session, network, events):
    changed = staff.update_user(session, network.coordinator, network.mediator_b, email="medb@test.example",
                                first_name="Bruno", last_name=network.mediator_b.last_name,
                                is_conseiller_numerique=True)
    assert changed == ["first_name", "is_conseiller_numerique"]
    assert events("user.updated")[-1].details == {"fields": ["first_name", "is_conseiller_numerique"]}
    with pytest.raises(ValidationFailed):
        staff.update_user(session, network.coordinator, network.mediator_b, email="pas-une-adresse",
                          first_name="Bruno", last_name="B")


def test_membership_add_and_end(session, network, events):
    membership = staff.add_membership(session, network.coordinator, network.mediator, network.structure_b,
                                      date(2026, 2, 1), "Conseiller numérique")
    assert events("membership.created")[-1].details == {"user": network.mediator.id, "started_on": "2026-02-01"}
    with pytest.raises(ValidationFailed, match="déjà rattachée"):
        staff.add_membership(session, network.coordinator, network.mediator, network.structure_b, date(2026, 3, 1))
    with pytest.raises(ValidationFailed) as caught:
        staff.end_membership(session, network.coordinator, membership, date(2026, 1, 31))
    assert caught.value.errors == {"ended_on": "La date de fin ne peut pas précéder la date de début (01/02/2026)."}
    assert membership.ended_on is None
    staff.end_membership(session, network.coordinator, membership, date(2026, 2, 1))
    assert membership.ended_on == date(2026, 2, 1)
    with pytest.raises(DomainError, match="déjà terminé"):
        staff.end_membership(session, network.coordinator, membership, date(2026, 3, 1))
    # after the end, a new period can start
    staff.add_membership(session, network.coordinator, network.mediator, network.structure_b, date(2026, 4, 1))
    assert events("membership.ended")[-1].structure_id == network.structure_b.id


def test_membership_scope(session, network):
    with pytest.raises(Forbidden):
        staff.add_membership(session, network.coordinator, network.mediator, network.structure_far, date(2026, 1, 1))
    with pytest.raises(Forbidden):
        staff.add_membership(session, network.coordinator, network.mediator_far, network.structure_a,
                             date(2026, 1, 1))
    with pytest.raises(ValidationFailed, match="médiateur"):
        staff.add_membership(session, network.admin, network.funder, network.structure_a, date(2026, 1, 1))
    far = session.scalar(sa.select(StaffMembership).where(StaffMembership.user_id == network.mediator_far.id))
    with pytest.raises(Forbidden):
        staff.end_membership(session, network.coordinator, far, date(2026, 1, 1))
