"""The end of the audit chain is anchored: every seal rewrites a signed anchor (sequence number and
hash of the head, HMAC with a key the database does not hold). Deleting the newest events (as
someone with database rights would, protections removed), forging the anchor without the key, or
truncating and putting back an older valid anchor is reported by ``verify_chain`` and by
``flask audit verify`` (with the heads operators export every day by ``flask audit head``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa

from mediation.audit import services
from mediation.audit.models import AuditAnchor, AuditEvent
from tests.conftest import is_postgres


class Sealed(NamedTuple):
    seq: int
    hash: str
    at: datetime


def _record(session, network, n: int) -> list[Sealed]:
    """n events, each committed (sealed) on its own, as separate requests would."""
    sealed = []
    for i in range(n):
        event = services.record(session, "structure.updated", actor=network.admin,
                                obj=network.structure_a, details={"fields": [f"f{i}"]})
        session.commit()
        sealed.append(Sealed(event.seq, event.hash, event.at))
    return sealed


def _delete_newest(session, count: int) -> None:
    """An attacker with database rights: protections off (inside this test's transaction only)."""
    if is_postgres():
        session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    else:
        session.execute(sa.text("DROP TRIGGER audit_events_no_delete"))
    newest = session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.seq.desc()).limit(count)).all()
    session.execute(sa.delete(AuditEvent.__table__).where(AuditEvent.__table__.c.id.in_(newest)))
    session.expire_all()


def _verify(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def test_each_seal_moves_the_signed_anchor_to_the_head(app, session, network):
    events = _record(session, network, 3)
    anchor = services.stored_anchor(session)
    assert (anchor.seq, anchor.hash) == (events[-1].seq, events[-1].hash)
    assert anchor.authentic()
    assert services.verify_chain(session).ok
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "Journal d'audit intègre" in result.output


def test_deleting_the_newest_events_is_reported_as_a_truncated_journal(app, session, network):
    events = _record(session, network, 4)
    _delete_newest(session, 2)
    last_present = events[1].seq
    check = services.verify_chain(session)
    assert not check.ok
    expected = (f"Journal tronqué : l'ancre indique l'évènement n° {events[-1].seq}, "
                f"le dernier présent est le n° {last_present}")
    assert any(expected in problem for problem in check.problems), check.problems
    result = _verify(app)
    assert result.exit_code != 0
    assert expected in result.output
    assert "intègre" not in result.output


def test_an_anchor_rewritten_without_the_key_is_reported(app, session, network):
    events = _record(session, network, 3)
    _delete_newest(session, 1)
    # The attacker also moves the anchor to the new end, signing with a key of their own.
    forged = services.Head.sign(events[1].seq, events[1].hash, events[1].at, key=b"not-the-key")
    session.execute(sa.update(AuditAnchor.__table__).values(seq=forged.seq, hash=forged.hash, at=forged.at,
                                                            mac=forged.mac))
    check = services.verify_chain(session)
    assert not check.ok
    assert any("Ancre du journal invalide" in p for p in check.problems)
    result = _verify(app)
    assert result.exit_code != 0 and "Ancre du journal invalide" in result.output


def test_a_deleted_anchor_is_reported(session, network):
    _record(session, network, 1)
    session.execute(sa.delete(AuditAnchor.__table__))
    assert any("Ancre du journal absente" in p for p in services.verify_chain(session).problems)


def test_the_anchor_key_comes_from_the_settings_not_the_database(app, session, network):
    _record(session, network, 2)
    key = app.config["MEDIATION_AUDIT_ANCHOR_KEY"]
    app.config["MEDIATION_AUDIT_ANCHOR_KEY"] = "une-autre-clé"
    try:
        assert any("Ancre du journal invalide" in p for p in services.verify_chain(session).problems)
    finally:
        app.config["MEDIATION_AUDIT_ANCHOR_KEY"] = key
    assert services.verify_chain(session).ok


def test_without_a_dedicated_key_the_anchor_key_is_derived_from_secret_key(app):
    class Settings:
        def __init__(self, **config):
            self.config = config

    derived = services.anchor_key(Settings(SECRET_KEY="s1", MEDIATION_AUDIT_ANCHOR_KEY=None))
    assert derived != b"s1" and len(derived) == 32
    assert derived == services.anchor_key(Settings(SECRET_KEY="s1"))
    assert derived != services.anchor_key(Settings(SECRET_KEY="s2"))
    assert services.anchor_key(Settings(SECRET_KEY="s1", MEDIATION_AUDIT_ANCHOR_KEY="k")) == b"k"


def test_exported_head_is_checked_and_an_older_anchor_replayed_is_caught(app, session, network, tmp_path):
    events = _record(session, network, 2)
    older_anchor = services.stored_anchor(session)  # what the attacker saved "yesterday"
    events += _record(session, network, 2)
    exported = app.test_cli_runner().invoke(args=["audit", "head"])
    assert exported.exit_code == 0, exported.output
    head_line = exported.output.strip()
    assert head_line.startswith(f"mediation-audit-head v1 seq={events[-1].seq} ")
    heads_file = tmp_path / "tetes-audit.txt"
    heads_file.write_text(f"# export quotidien\n{head_line}\n", encoding="utf-8")
    # normal operation: later writes, the exported head is still in the chain
    _record(session, network, 1)
    assert _verify(app, "--head", str(heads_file)).exit_code == 0
    assert _verify(app, "--head", head_line).exit_code == 0

    # truncate back to the older anchor and put that (valid, signed) anchor back: the chain and
    # the anchor agree, only the exported head shows the loss
    _delete_newest(session, 3)
    session.execute(sa.update(AuditAnchor.__table__).values(seq=older_anchor.seq, hash=older_anchor.hash,
                                                            at=older_anchor.at, mac=older_anchor.mac))
    assert services.verify_chain(session).ok  # the replay alone is invisible...
    result = _verify(app, "--head", str(heads_file))
    assert result.exit_code != 0  # ...not with the exported head
    assert (f"la tête exportée le {services.Head.parse(head_line).day} indique l'évènement n° "
            f"{events[-1].seq}, le dernier présent est le n° {events[1].seq}") in result.output


def test_a_forged_exported_head_is_refused(app, session, network):
    events = _record(session, network, 1)
    forged = services.Head.sign(events[0].seq, events[0].hash, events[0].at - timedelta(days=1), key=b"x")
    result = _verify(app, "--head", forged.line())
    assert result.exit_code != 0 and "invalide : sa signature est fausse" in result.output
    result = _verify(app, "--head", "n'importe quoi")
    assert result.exit_code != 0 and "Tête de journal illisible" in result.output
