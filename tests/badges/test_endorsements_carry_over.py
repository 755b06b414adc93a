"""Endorsements carry over to the badge classes of a new pathway version: a partner that endorsed
a step's badge keeps endorsing the same step once the pathway is edited (a new version, since
people follow the old one); a withdrawn endorsement is not carried; the carry-over is audited."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.badges import services
from mediation.badges.models import BadgeClass
from mediation.pathways import versions


def test_a_new_version_keeps_the_live_endorsements_of_each_step(session, network, template, issued):
    assertion = issued(email="a@example.org")  # someone follows version 1: it is frozen
    old_class = assertion.badge_class
    kept = services.endorse(session, network.coordinator, old_class, network.structure_b, "Reconnu pour nos ateliers")
    withdrawn = services.endorse(session, network.coordinator, old_class, network.structure_a, "Reconnu aussi")
    services.withdraw_endorsement(session, network.coordinator, withdrawn)
    old_version = template.current_version

    level = versions.load_version(session, old_version.id).levels[0]
    target = versions.update_level(session, network.coordinator, template, level.id, title="Premiers pas (révisé)",
                                   description=None)
    assert target.version.id != old_version.id  # a new version
    classes = services.publish_classes(session, network.coordinator, template)
    new_class = next(c for c in classes if c.name == old_class.name)
    assert new_class.id != old_class.id
    assert [(e.endorser_id, e.comment) for e in new_class.live_endorsements] == [
        (kept.endorser_id, "Reconnu pour nos ateliers")]
    assert new_class.live_endorsements[0].uid != kept.uid  # its own document, for the new class
    # The old class keeps its own, untouched.
    assert [e.id for e in session.get(BadgeClass, old_class.id).live_endorsements] == [kept.id]
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "badge.endorsements_carried_over"))
    assert event.object_id == str(new_class.id) and event.details == {"from_badge_class_id": old_class.id,
                                                                      "endorsements": [kept.id]}
    # Classes without endorsements carry nothing; publishing again changes nothing.
    assert all(not c.live_endorsements for c in classes if c.id != new_class.id)
    services.publish_classes(session, network.coordinator, template)
    assert len(new_class.live_endorsements) == 1
