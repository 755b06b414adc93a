"""What pathways do when something happens below them (subscribed when the package is imported).

- an activity logged by hand, or activities imported: the live referrals of the participants
  towards the place of the activity are honoured, with the activity as proof.
- a case list without names: where each case is on its live pathways.
"""

from __future__ import annotations

from mediation.cases import signals as cases_signals
from mediation.pathways import referrals, services


@cases_signals.activity_logged.connect
def _honour_referrals_of_logged(session, *, activity, **_):
    referrals.honour_for_activity(session, activity)


@cases_signals.activities_imported.connect
def _honour_referrals_of_imported(session, *, activity_ids, **_):
    referrals.honour_for_imported(session, activity_ids)


@cases_signals.case_summaries_wanted.connect
def _progress_of_cases(session, *, case_ids, **_):
    return services.progress_summaries(session, case_ids)
