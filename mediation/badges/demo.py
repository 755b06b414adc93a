"""Demo data for badges (runs after the pathways demo, whose validations already issued badges at
every level through the hook): badge dates aligned on their validations, one class endorsed by two
partner structures, one badge revoked and reissued, one revoked for good, and a demo wallet card
whose code ``flask demo`` prints (``MEDIATION_DEMO_WALLET_CODE`` when set)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from mediation.badges import services, wallet
from mediation.badges.models import Assertion, BadgeClass, BadgeKind

# What ``flask demo`` prints after loading (set by the hook).
DEMO_CARD: dict = {}


def _demo_code() -> str | None:
    code = wallet.normalise_code(current_app.config.get("MEDIATION_DEMO_WALLET_CODE"))
    if len(code) == wallet.CODE_LENGTH and set(code) <= set(wallet.CODE_ALPHABET):
        return code
    return None


def load_badges_demo(session: Session, *, territory, structures, users, **_ignored) -> dict:
    DEMO_CARD.clear()
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

    # The demo wallet card: the person of the mediator's first structure with the most badges who is
    # still on a pathway (the wallet then shows a next step), whatever day the demo is loaded.
    from mediation.cases.models import Case
    from mediation.pathways.enums import EnrolmentState
    from mediation.pathways.models import Enrolment

    on_a_pathway = (sa.select(Case.beneficiary_id).join(Enrolment, Enrolment.case_id == Case.id)
                    .where(Enrolment.state == EnrolmentState.EN_COURS))
    counts = session.execute(
        sa.select(Assertion.beneficiary_id, sa.func.count(Assertion.id))
        .where(Assertion.revoked_at.is_(None), Assertion.structure_id == structures[0].id,
               Assertion.beneficiary_id.in_(on_a_pathway))
        .group_by(Assertion.beneficiary_id).order_by(sa.func.count(Assertion.id).desc(), Assertion.beneficiary_id)
    ).first() or session.execute(
        sa.select(Assertion.beneficiary_id, sa.func.count(Assertion.id)).where(Assertion.revoked_at.is_(None))
        .group_by(Assertion.beneficiary_id).order_by(sa.func.count(Assertion.id).desc(), Assertion.beneficiary_id)
    ).first()
    if counts is not None:
        from mediation.cases.models import Beneficiary

        person = session.get(Beneficiary, counts[0])
        printed = wallet.print_card(session, mediator, person, structure_id=structures[0].id, code=_demo_code())
        DEMO_CARD.update(code=wallet.format_code(printed.code), url=printed.url, badges=counts[1])
    session.flush()
    return {"assertions": len(assertions), "card": bool(DEMO_CARD)}


def _acting(session: Session, assertion: Assertion, users):
    """A mediator of the structure that validated (the one who may revoke there)."""
    from mediation.pathways.policy import works_for

    return next((u for u in users if works_for(session, u, assertion.structure_id)), None)


def demo_wallet_lines() -> list[str]:
    """The lines ``flask demo`` prints about the demo wallet card."""
    if not DEMO_CARD:
        return []
    return [f"Carnet de badges de démonstration ({DEMO_CARD['badges']} badges) : code de la carte "
            f"{DEMO_CARD['code']} à saisir sur /carnet, ou ouvrez {DEMO_CARD['url']}"]
