"""Demo data for badges (runs after the pathways demo, whose validations already issued badges at
every level through the hook): badge dates aligned on their validations, one class endorsed by two
partner structures, one badge revoked and reissued, one revoked for good (the demo wallet card: mediation.carnet.demo)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.badges import services
from mediation.badges.models import Assertion, BadgeClass, BadgeKind


def load_badges_demo(session: Session, *, territory, structures, users, **_ignored) -> dict:
    by_email = {u.email: u for u in users}
    mediator = by_email["mediateur@demo.test"]
    coordinator = by_email["coordination@demo.test"]
    assertions = list(session.scalars(sa.select(Assertion).order_by(Assertion.id)))
    for a in assertions:
        if a.validation is not None:
            a.issued_at = a.validation.validated_at
            a.evidence = services.evidence_text(a.validation)
    session.flush()
    if not assertions:
        return {"assertions": 0}

    # An endorsed class: level 1 reached, recognised by the médiathèque and the CCAS.
    level_one = session.scalar(sa.select(BadgeClass).where(BadgeClass.kind == BadgeKind.NIVEAU)
                               .order_by(BadgeClass.id).limit(1))
    partners = [s for s in structures if s.name in ("Médiathèque Simone-de-Beauvoir", "CCAS de Sotteville-lès-Rouen")]
    if level_one is not None:
        for partner in partners:
            services.endorse(session, coordinator, level_one, partner,
                             "Nous reconnaissons ce niveau : la personne peut rejoindre directement nos ateliers "
                             "« démarches en ligne ».")

    # One badge revoked and reissued (wrong e-mail fixed), one revoked for good.
    steps = [a for a in assertions if a.badge_class.kind == BadgeKind.ETAPE and a.structure_id is not None]
    if len(steps) >= 2:
        services.reissue(session, _acting(session, steps[0], users) or mediator, steps[0],
                         "Adresse e-mail corrigée : badge délivré à nouveau")
        services.revoke(session, _acting(session, steps[-1], users) or mediator, steps[-1],
                        "Étape validée par erreur (mauvaise personne sélectionnée)")

    session.flush()
    return {"assertions": len(assertions)}


def _acting(session: Session, assertion: Assertion, users):
    """A mediator of the structure that validated (the one who may revoke there)."""
    from mediation.pathways.policy import works_for

    return next((u for u in users if works_for(session, u, assertion.structure_id)), None)
