"""What the equipment library does when the cases domain announces changes (blinker signals).

When retention anonymises people, the documents that name them are erased: the frozen agreement
and the scan of the signed copy of their handovers (the handover itself stays, without a name, so
that the inventory's history and the indicators do not change)."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.cases import signals as cases_signals
from mediation.cases.models import Beneficiary
from mediation.equipment.models import Handover


@cases_signals.beneficiaries_changed.connect
def _erase_documents_of_anonymised(session, *, beneficiary_ids, **_):
    anonymised = sa.select(Beneficiary.id).where(Beneficiary.id.in_(list(beneficiary_ids)),
                                                 Beneficiary.anonymised_at.is_not(None))
    session.execute(sa.update(Handover).where(Handover.beneficiary_id.in_(anonymised)).values(
        agreement_pdf=None, signed_scan=None, signed_scan_type=None).execution_options(synchronize_session=False))
