"""Authorization matrix: coordinators' activities (animations, évènements, partenariats).

Coordinators log theirs and see only theirs; administrators read everyone's; mediators, aidants and
funders are refused (403). Another coordinator's activity is « not found » (404). API: the same rules
with a personal token (funders cannot hold one: 401).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import object_session

from mediation.coordination.enums import CoordinationType
from mediation.coordination.models import CoordinationActivity
from mediation.types import local_today
from tests.authz.roles import expect

COORDINATION_200 = expect(403, anonymous=302, admin=200, coordinator=200)


def _activity(n, owner: str) -> CoordinationActivity:
    """An évènement of the coordinator (``owner`` "coordinator") or of the other territory's, made once."""
    attribute = f"_matrix_coordination_{owner}"
    if getattr(n, attribute, None) is None:
        user = getattr(n, owner)
        made = CoordinationActivity(type=CoordinationType.EVENEMENT, coordinator_id=user.id,
                                    territory_id=user.territory_id, date=local_today() - timedelta(days=1),
                                    participants=40, event_type="nec_local", organisers=["commune"])
        session = object_session(n.structure_a)
        session.add(made)
        session.flush()
        setattr(n, attribute, made)
    return getattr(n, attribute)


def _url(owner: str, suffix: str = ""):
    return lambda n: f"/coordination/activites/{_activity(n, owner).id}{suffix}"


def _animation(n):
    return {"type": "animation", "date": (local_today() - timedelta(days=1)).isoformat(),
            "animation_type": "comite", "animation_themes": ["reseau"], "mediators_count": "4"}


ROUTES = {
    "coordination.activity_list": {"url": "/coordination/activites", "expect": COORDINATION_200},
    "coordination.activity_new": [
        {"url": "/coordination/activites/nouvelle", "expect": expect(403, anonymous=302, coordinator=200)},
        {"url": "/coordination/activites/nouvelle", "method": "POST", "data": _animation,
         "expect": expect(403, anonymous=302, coordinator=302)},
    ],
    "coordination.activity_detail": [
        {"url": _url("coordinator"), "expect": COORDINATION_200},
        {"url": _url("other_coordinator"), "expect": expect(403, anonymous=302, admin=200, coordinator=404),
         "note": "activité d’un autre coordinateur"},
    ],
    "coordination.activity_delete": [
        {"url": _url("coordinator", "/supprimer"), "method": "POST",
         "expect": expect(403, anonymous=302, coordinator=302)},
        {"url": _url("other_coordinator", "/supprimer"), "method": "POST",
         "expect": expect(403, anonymous=302, coordinator=404)},
    ],
    "api.coordination_list": {"url": "/api/v1/activites-coordination",
                              "expect": expect(403, anonymous=401, funder=401, admin=200, coordinator=200)},
    "api.coordination_create": {
        "url": "/api/v1/activites-coordination", "method": "POST",
        "json": lambda n: {"type": "evenement", "date": (local_today() - timedelta(days=1)).isoformat(),
                           "participants": 12, "type_evenement": "grand_public", "organisateurs": ["ma_structure"]},
        "expect": expect(403, anonymous=401, funder=401, coordinator=201),
    },
}
