"""Factories for the mandates tests: people followed by structure A, drafts, fresh TOTP codes, and
mandates issued through the real services (backdated with ``days_ago`` when a test needs it)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pyotp
import pytest
from pypdf import PdfReader

from mediation.auth.models import Role
from mediation.mandates import services
from mediation.mandates.enums import Demarche, IdentityCheck, MandateDuration
from mediation.types import utcnow
from tests.conftest import TOTP_SECRET


@pytest.fixture
def make_person(network, make_beneficiary):
    """A beneficiary created by the aidant (``make_beneficiary`` with the mandates' defaults)."""
    counter = iter(range(1, 100_000))

    def make(structure=None, first_name="Josiane", last_name=None, actor=None):
        return make_beneficiary(actor or network.aidant, structure, first_name=first_name,
                                last_name=last_name or f"Leclerc{next(counter)}")

    return make


@pytest.fixture
def person(make_person):
    return make_person(first_name="Josiane", last_name="Leclerc")


@pytest.fixture
def code(session):
    """A TOTP code the server accepts now for ``user`` (replay protection reset, as after a wait)."""

    def make(user) -> str:
        user.totp_last_step = None
        session.flush()
        return pyotp.TOTP(TOTP_SECRET).now()

    return make


@pytest.fixture
def draft(network, person):
    def make(**overrides) -> services.MandateDraft:
        values = dict(structure_id=network.structure_a.id, beneficiary_id=person.id,
                      demarches=[Demarche.PAPIERS.value, Demarche.SOCIAL.value],
                      duration=MandateDuration.MONTH.value, identity_check=IdentityCheck.PIECE_IDENTITE.value)
        values.update(overrides)
        return services.MandateDraft(**values)

    return make


@pytest.fixture
def make_mandate(session, network, person):
    """Issue a mandate through the building block (habilitation and code trusted), optionally in the past."""

    def make(beneficiary=None, demarches=(Demarche.PAPIERS, Demarche.SOCIAL), duration=MandateDuration.MONTH,
             days_ago: float = 0, structure=None, actor=None, renewed_from=None):
        checked = services.CheckedDraft(structure or network.structure_a, beneficiary or person, list(demarches),
                                        duration, IdentityCheck.PIECE_IDENTITE, renewed_from)
        return services.issue_mandate(session, actor or network.aidant, checked,
                                      now=utcnow() - timedelta(days=days_ago))

    return make


@pytest.fixture
def aidant_far(make_user, network):
    """A habilitated aidant of another structure (another territory)."""
    return make_user(Role.MEDIATOR, structures=[network.structure_far], email="aidant-far@test.example",
                     is_aidant=True, aidant_trained_on=date(2025, 1, 1))


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def squash(text: str) -> str:
    """PDF text without line breaks and repeated spaces (lines wrap anywhere)."""
    return " ".join(text.split())
