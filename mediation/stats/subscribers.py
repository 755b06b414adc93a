"""Statistics keep their rollups exact when activities or people change (subscribed to the cases
signals when the package is imported), in the same transaction as the change."""

from __future__ import annotations

from mediation.cases import signals as cases_signals
from mediation.stats import rollups

_PREVIOUS = "stats.rollups.previous_cells"  # session.info: cells captured before an edit


@cases_signals.activity_logged.connect
def _add_new_activity(session, *, activity, displaced=(), **_):
    rollups.add_new_activity(session, activity, activity.participations, displaced=displaced)


@cases_signals.activity_changing.connect
def _capture_before_edit(session, *, activity, **_):
    session.info.setdefault(_PREVIOUS, {})[activity.id] = rollups.capture(session, [activity.id])


@cases_signals.activity_changed.connect
def _refresh_after_edit(session, *, activity, **_):
    previous = session.info.get(_PREVIOUS, {}).pop(activity.id, None)
    rollups.refresh_rollups(session, [activity.id], previous=previous)


@cases_signals.activity_deleted.connect
@cases_signals.activity_restored.connect
def _refresh_activity(session, *, activity, **_):
    rollups.refresh_rollups(session, [activity.id])


@cases_signals.activities_imported.connect
def _refresh_imported(session, *, dates, beneficiary_ids, cells=None, **_):
    # The cells of the new activities (a mediator's import: one per month) rather than whole
    # months of every structure; refresh_rollups goes back to months above MAX_CELLS cells.
    if cells is not None:
        rollups.refresh_rollups(session, previous=cells, beneficiary_ids=beneficiary_ids)
    else:
        rollups.refresh_rollups(session, dates=dates, beneficiary_ids=beneficiary_ids)


@cases_signals.beneficiaries_changed.connect
def _refresh_people(session, *, beneficiary_ids, **_):
    rollups.refresh_rollups(session, beneficiary_ids=beneficiary_ids)


@cases_signals.beneficiary_updated.connect
def _copy_profile(session, *, beneficiary, **_):
    rollups.copy_profile(session, beneficiary)
