"""What happens to activities and beneficiaries, announced to the domains above (blinker signals).

Cases knows nothing of the domains built on it: it sends these signals, synchronously, in the
caller's session and transaction (a receiver that raises aborts the whole change), and the higher
domains subscribe when their package is imported (``mediation/<domain>/__init__.py``):

- statistics (:mod:`mediation.stats.subscribers`) keep the rollups exact;
- pathways (:mod:`mediation.pathways.subscribers`) honour the live referrals of the participants
  towards the place of an activity, logged by hand or imported.

Every signal is sent with the SQLAlchemy session as sender; the keyword arguments are documented on
each signal.
"""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

#: A new activity was logged by hand: ``activity`` (flushed, with its participations), ``displaced``
#: (statistics cells of the first accompaniments it took over).
activity_logged = _events.signal("activity-logged")

#: An activity is about to be edited (its date, place or participants may change): ``activity``.
activity_changing = _events.signal("activity-changing")

#: An activity was edited (after :data:`activity_changing`): ``activity``.
activity_changed = _events.signal("activity-changed")

#: An activity was soft-deleted: ``activity``.
activity_deleted = _events.signal("activity-deleted")

#: A soft-deleted activity was restored: ``activity``.
activity_restored = _events.signal("activity-restored")

#: Activities were created by an import (bulk inserts, no ORM objects): ``activity_ids`` (the new
#: ids), ``dates`` (their dates), ``cells`` (their (structure_id, first of month, mediator_id)),
#: ``beneficiary_ids`` (the followed people who took part).
activities_imported = _events.signal("activities-imported")

#: Participations or identity of these people changed wholesale (duplicates merged or the merge
#: undone, anonymisation at the end of retention): ``beneficiary_ids``.
beneficiaries_changed = _events.signal("beneficiaries-changed")

#: An identified person's record was edited (genre, birth year, statut, commune…): ``beneficiary``.
beneficiary_updated = _events.signal("beneficiary-updated")

#: A list shows cases without the person's name (coordinators, administrators): ``case_ids``.
#: Receivers return ``{case_id: text}`` — what tells the cases apart from their side (pathways:
#: the level reached) — and the list shows every receiver's text beside the case number.
case_summaries_wanted = _events.signal("case-summaries-wanted")


def case_summaries(session, case_ids) -> dict[int, str]:
    """The texts of :data:`case_summaries_wanted`'s receivers for ``case_ids``, joined per case."""
    texts: dict[int, list[str]] = {}
    for _receiver, result in case_summaries_wanted.send(session, case_ids=list(case_ids)):
        for case_id, text in (result or {}).items():
            texts.setdefault(case_id, []).append(text)
    return {case_id: " · ".join(parts) for case_id, parts in texts.items()}
