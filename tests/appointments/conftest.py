"""Factories for the appointments tests: a place taking appointments, a referred person."""

from __future__ import annotations

import pytest

from mediation.appointments import services
from tests.pathways.conftest import person  # noqa: F401  (fixture reused)

HOURS = "Mo-Su 09:00-12:00,14:00-17:00"
SERVICE = "Aide aux démarches administratives"


@pytest.fixture
def offer(session, network):
    """Médiathèque B takes appointments for « Aide aux démarches administratives », 30 min, 2 seats."""

    def make(capacity=2, structure=None, user=None, service=SERVICE):
        structure = structure or network.structure_b
        structure.horaires = HOURS
        structure.services = [SERVICE, "Maîtrise des outils numériques du quotidien"]
        return services.save_offer(session, user or network.mediator_b, structure,
                                   services.OfferInput(service=service, duration_min=30, capacity=capacity))

    return make
