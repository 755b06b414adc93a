"""Authorization matrix: « Statistiques » (the Coop's figures on one's own data) and its workbook.

Staff see their own figures (mediators: their activities; coordinators: their territory;
administrators: everything); funders 403. A coordinator asking for a mediator of another
territory gets « not found » (404); mediators cannot filter on a mediator (the parameter is ignored).
"""

from __future__ import annotations

from tests.authz.roles import STAFF_200, expect

OUT_OF_TERRITORY = expect(200, anonymous=302, funder=403, coordinator=404)
OUT_OF_TERRITORY_POST = expect(303, anonymous=302, funder=403, coordinator=404)


def _far(path):
    return lambda n: f"{path}?mediateur={n.mediator_far.id}"


ROUTES = {
    "statistiques.index": [
        {"url": "/statistiques/", "expect": STAFF_200},
        {"url": _far("/statistiques/"), "expect": OUT_OF_TERRITORY, "note": "médiateur hors territoire"},
    ],
    "statistiques.recompute": [
        {"url": "/statistiques/recalculer", "method": "POST", "data": {}, "expect": expect(303, anonymous=302, funder=403),
         "note": "« Recalculer maintenant » : calculé, puis la page"},
        {"url": _far("/statistiques/recalculer"), "method": "POST", "data": {}, "expect": OUT_OF_TERRITORY_POST,
         "note": "médiateur hors territoire : rien n'est calculé"},
    ],
    "statistiques.export_xlsx": [
        {"url": "/statistiques/export.xlsx", "expect": STAFF_200},
        {"url": _far("/statistiques/export.xlsx"), "expect": OUT_OF_TERRITORY},
    ],
}
