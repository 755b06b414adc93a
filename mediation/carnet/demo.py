"""Demo data of « Mon carnet » (runs after the badges demo): a demo wallet card whose code
``flask demo`` prints (``MEDIATION_DEMO_WALLET_CODE`` when set)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from mediation.badges.models import Assertion
from mediation.carnet import wallet
from mediation.cases.models import Beneficiary, Case
from mediation.pathways.enums import EnrolmentState
from mediation.pathways.models import Enrolment

# What ``flask demo`` prints after loading (set by the hook).
DEMO_CARD: dict = {}


def _demo_code() -> str | None:
    code = wallet.normalise_code(current_app.config.get("MEDIATION_DEMO_WALLET_CODE"))
    if len(code) == wallet.CODE_LENGTH and set(code) <= set(wallet.CODE_ALPHABET):
        return code
    return None


def load_carnet_demo(session: Session, *, territory, structures, users, **_ignored) -> dict:
    DEMO_CARD.clear()
    by_email = {u.email: u for u in users}
    mediator = by_email["mediateur@demo.test"]
    # The demo wallet card: the person of the mediator's first structure with the most badges who is
    # still on a pathway (the wallet then shows a next step), whatever day the demo is loaded.
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
        person = session.get(Beneficiary, counts[0])
        printed = wallet.print_card(session, mediator, person, structure_id=structures[0].id, code=_demo_code())
        DEMO_CARD.update(code=wallet.format_code(printed.code), url=printed.url, badges=counts[1])
    session.flush()
    return {"card": bool(DEMO_CARD)}


def demo_wallet_lines() -> list[str]:
    """The lines ``flask demo`` prints about the demo wallet card."""
    if not DEMO_CARD:
        return []
    return [f"Carnet de badges de démonstration ({DEMO_CARD['badges']} badges) : code de la carte "
            f"{DEMO_CARD['code']} à saisir sur /carnet, ou ouvrez {DEMO_CARD['url']}"]
