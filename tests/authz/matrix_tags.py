"""Authorization matrix: « Mes tags » (mediation.cases.tags).

Mediators manage their own tags and their structures' team tags; coordinators their territory's;
administrators all of them; funders nothing (403). A tag one does not manage is « not found » (404).
"""

from __future__ import annotations

from sqlalchemy.orm import object_session

from mediation.cases.enums import TagScope
from mediation.cases.models import Tag
from tests.authz.roles import STAFF_200, expect


def _tag(n, kind: str) -> Tag:
    """A team tag of structure_a (kind "structure") or a tag of the coordinator's territory, made once."""
    attribute = f"_matrix_tag_{kind}"
    if getattr(n, attribute, None) is None:
        session = object_session(n.structure_a)
        tag = (Tag(name="Équipe A", scope=TagScope.STRUCTURE, structure_id=n.structure_a.id) if kind == "structure"
               else Tag(name="Conseillers 76", scope=TagScope.TERRITOIRE, territory_id=n.territory.id))
        session.add(tag)
        session.flush()
        setattr(n, attribute, tag)
    return getattr(n, attribute)


def _url(kind: str, suffix: str):
    return lambda n: f"/tags/{_tag(n, kind).id}/{suffix}"


TEAM_GET = expect(200, anonymous=302, funder=403, coordinator=404)
TEAM_POST = expect(302, funder=403, coordinator=404)
TERRITORY_GET = expect(404, anonymous=302, funder=403, admin=200, coordinator=200)
TERRITORY_POST = expect(404, anonymous=302, funder=403, admin=302, coordinator=302)

ROUTES = {
    "cases.tag_list": [
        {"url": "/tags", "expect": STAFF_200},
        {"url": "/tags", "method": "POST", "data": {"name": "Numérique et santé", "description": ""},
         "expect": expect(302, funder=403, admin=403),
         "note": "un administrateur n’a ni tags personnels ni territoire : rien à créer"},
    ],
    "cases.tag_edit": [
        {"url": _url("structure", "modifier"), "expect": TEAM_GET, "note": "tag d’équipe de la structure A"},
        {"url": _url("structure", "modifier"), "method": "POST", "data": {"name": "Équipe A renommée"},
         "expect": TEAM_POST},
        {"url": _url("territoire", "modifier"), "expect": TERRITORY_GET, "note": "tag du territoire"},
        {"url": _url("territoire", "modifier"), "method": "POST", "data": {"name": "Conseillers 76 bis"},
         "expect": TERRITORY_POST},
    ],
    "cases.tag_delete": [
        {"url": _url("structure", "supprimer"), "method": "POST", "expect": TEAM_POST},
        {"url": _url("territoire", "supprimer"), "method": "POST", "expect": TERRITORY_POST},
    ],
}
