"""Writing and reading the audit log.

Services call :func:`record` inside the same transaction as the change they make, so the event
and the change are committed (or rolled back) together. Details must never hold personal data
(names, contact details, notes): ids and field names only.

The hash chain is *sealed at commit*: :func:`record` inserts the event at once (visible to the rest
of the transaction), and just before the transaction commits :func:`seal` gives its events their
place in the chain (``seq``), the previous event's hash and their own. On PostgreSQL sealing takes a
transaction-level advisory lock, so chain writers are serialised only for the few milliseconds
between sealing and the end of the commit — not from their first event on: a long transaction
(bulk badge issuing, retention run) no longer makes every other write wait. The database allows
exactly one update of an event, the seal, of an unsealed row, touching nothing else (triggers).

The chain alone does not protect its end: deleting the newest events leaves a shorter chain that
still verifies. Every seal therefore also rewrites the *anchor* (``audit_anchor``: the head's
``seq`` and hash, in the same transaction, under the same lock), authenticated with an HMAC whose
key is in the application's settings, not in the database (``MEDIATION_AUDIT_ANCHOR_KEY``, by
default derived from ``SECRET_KEY``). :func:`verify_chain` reports a chain that ends before the
anchor (truncated tail), goes past it, or an anchor whose signature is wrong (forged). Replaying an
older valid anchor after deleting the tail is caught by the heads operators export every day
(:func:`current_head`, ``flask audit head``) and check later (``flask audit verify --head``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from mediation.audit.models import AuditAnchor, AuditEvent
from mediation.extensions import note_write
from mediation.types import utcnow

# French labels of the actions, shown on the admin page. Each domain adds its own here.
ACTION_LABELS: dict[str, str] = {
    "auth.login": "Connexion",
    "auth.login_failed": "Échec de connexion",
    "auth.logout": "Déconnexion",
    "auth.locked": "Compte temporairement bloqué",
    "auth.totp_enabled": "Double authentification activée",
    "auth.totp_disabled": "Double authentification désactivée",
    "auth.recovery_code_used": "Code de secours utilisé",
    "auth.recovery_codes_regenerated": "Codes de secours régénérés",
    "auth.password_reset_requested": "Réinitialisation du mot de passe demandée",
    "auth.password_changed": "Mot de passe modifié",
    "auth.token_created": "Jeton d'API créé",
    "auth.token_revoked": "Jeton d'API révoqué",
    "user.created": "Compte créé",
    "user.updated": "Compte modifié",
    "user.role_changed": "Rôle modifié",
    "user.deactivated": "Compte désactivé",
    "user.reactivated": "Compte réactivé",
    "territory.created": "Territoire créé",
    "territory.updated": "Territoire modifié",
    "commune.created": "Commune créée",
    "commune.updated": "Commune modifiée",
    "structure.created": "Structure créée",
    "structure.updated": "Structure modifiée",
    "structure.archived": "Structure archivée",
    "structure.restored": "Structure restaurée",
    "structure.imported": "Structures importées",
    "commune_needs.imported": "Indicateurs de besoin des communes importés",
    "membership.created": "Rattachement à une structure",
    "membership.ended": "Fin de rattachement",
    "beneficiary.created": "Bénéficiaire créé",
    "beneficiary.updated": "Bénéficiaire modifié",
    "consent.recorded": "Consentement enregistré",
    "consent.withdrawn": "Consentement retiré",
    "case.opened": "Dossier ouvert",
    "case.paused": "Dossier mis en pause",
    "case.resumed": "Dossier repris",
    "case.closed": "Dossier clos",
    "case.reopened": "Dossier rouvert",
    "case.note_added": "Note ajoutée au dossier",
    "activity.created": "Activité enregistrée",
    "activity.updated": "Activité modifiée",
    "activity.deleted": "Activité supprimée",
    "activity.restored": "Activité restaurée",
    "tag.created": "Tag créé",
    "tag.updated": "Tag modifié",
    "tag.deleted": "Tag supprimé",
    "coordination_activity.created": "Activité de coordination enregistrée",
    "coordination_activity.deleted": "Activité de coordination supprimée",
    "funder.created": "Financeur créé",
    "funder.account_linked": "Compte rattaché à un financeur",
    "programme.created": "Programme de financement créé",
    "programme.updated": "Programme de financement modifié",
    "programme.activity_attributed": "Activité attribuée à un programme",
    "programme.activity_unattributed": "Attribution d'une activité à un programme retirée",
    "follow_up.scheduled": "Relances programmées",
    "follow_up.recorded": "Réponses à une relance enregistrées",
    "report.generated": "Rapport d'impact produit",
    "synth.loaded": "Données synthétiques chargées",
    "beneficiary.merged": "Bénéficiaires fusionnés",
    "beneficiary.merge_undone": "Fusion de bénéficiaires annulée",
    "beneficiary.anonymised": "Bénéficiaire anonymisé (durée de conservation)",
    "retention.run": "Anonymisation des bénéficiaires inactifs",
    "import.beneficiaries": "Import de bénéficiaires",
    "import.activities": "Import d'activités",
    "export.activities": "Export des activités",
    "export.beneficiaries": "Export des bénéficiaires",
    "export.personal_data": "Export des données d'une personne (droit d'accès)",
    "mandate.created": "Mandat créé",
    "mandate.renewed": "Mandat renouvelé",
    "mandate.authorization_created": "Autorisation de mandat créée",
    "mandate.authorization_revoked": "Autorisation de mandat révoquée",
    "mandate.revoked": "Mandat révoqué",
    "mandate.used": "Mandat utilisé pour une démarche",
    "mandate.scan_attached": "Mandat signé numérisé joint",
    "mandate.transferred": "Mandat transféré à une autre structure",
    "mandate.activity_check": "Aidant : code de sécurité ressaisi",
    "mandate.revocation_requested": "Demande de révocation d'un mandat",
    "mandate.revocation_request_handled": "Demande de révocation traitée",
    "mandate.expiry_notified": "Expiration prochaine d'un mandat signalée",
    "mandate.anonymised": "Mandat anonymisé (fin de conservation)",
    "mandate.structure_scopes": "Démarches autorisées pour les mandats d'une structure modifiées",
    "pathway.template_created": "Parcours créé",
    "pathway.template_updated": "Parcours renommé",
    "pathway.template_archived": "Parcours archivé",
    "pathway.template_restored": "Parcours restauré",
    "pathway.version_created": "Nouvelle version de parcours",
    "pathway.updated": "Parcours modifié (niveaux, étapes)",
    "case.pathway_enrolled": "Inscription à un parcours",
    "case.pathway_abandoned": "Parcours abandonné",
    "case.pathway_completed": "Parcours terminé",
    "case.milestone_validated": "Étape de parcours validée",
    "case.level_reached": "Niveau de parcours atteint",
    "case.assessed": "Diagnostic réalisé",
    "case.referred": "Orientation vers une autre structure",
    "case.transferred": "Dossier réaffecté",
    "referral.accepted": "Orientation acceptée",
    "referral.declined": "Orientation refusée",
    "referral.cancelled": "Orientation annulée",
    "referral.honoured": "Orientation honorée",
    "referral.not_honoured": "Orientation non honorée",
    "referral.expiry_run": "Orientations échues marquées non honorées",
    "loan.created": "Mise à disposition d'un médiateur",
    "loan.ended": "Fin anticipée d'une mise à disposition",
    "loan.cancelled": "Mise à disposition annulée",
    "badge.issued": "Badge délivré",
    "badge.revoked": "Badge révoqué",
    "badge.reissued": "Badge délivré à nouveau (après révocation)",
    "badge.issuer_updated": "Profil d'émetteur de badges modifié",
    "badge.settings_updated": "Réglages des badges d'un parcours modifiés",
    "badge.classes_published": "Modèles de badges d'un parcours publiés",
    "badge.class_updated": "Modèle de badge modifié",
    "badge.endorsed": "Badge approuvé par une structure",
    "badge.endorsement_withdrawn": "Approbation d'un badge retirée",
    "badge.external_imported": "Badge externe vérifié ajouté au dossier",
    "wallet.card_printed": "Carte de carnet de badges imprimée",
    "wallet.card_reprinted": "Carte de carnet de badges réimprimée",
    "wallet.card_revoked": "Carte de carnet de badges désactivée",
    "wallet.code_sent": "Code à usage unique envoyé pour ouvrir un carnet",
    "beneficiary.language_chosen": "Langue du carnet choisie",
    "badge.endorsements_carried_over": "Approbations reportées sur les badges d'une nouvelle version de parcours",
    "training.recorded": "Formation ou certification enregistrée",
    "training.certificate_attached": "Attestation de formation jointe",
    "training.deleted": "Formation ou certification supprimée",
    "training.reminded": "Rappel d’expiration d’une formation envoyé",
    "training.habilitation_expired": "Habilitation d’aidant expirée signalée à la coordination",
    "training.reminders_run": "Rappels des formations",
    "appointment.offer_saved": "Prise de rendez-vous d'un lieu réglée",
    "appointment.time_blocked": "Plage bloquée à la prise de rendez-vous",
    "appointment.block_removed": "Plage bloquée supprimée",
    "appointment.booked": "Rendez-vous pris",
    "appointment.cancelled": "Rendez-vous annulé",
    "appointment.moved": "Rendez-vous déplacé",
    "appointment.attended": "Venue au rendez-vous enregistrée",
    "appointment.missed": "Absence au rendez-vous enregistrée",
    "assessment.saved": "Auto-évaluation d'un service modifiée",
    "assessment.published": "Auto-évaluation d'un service relue et publiée",
}


def _digest(prev_hash: str | None, event: AuditEvent) -> str:
    payload = json.dumps(
        {
            "prev": prev_hash,
            "at": event.at.isoformat(),
            "actor": event.actor_id,
            "action": event.action,
            "type": event.object_type,
            "id": event.object_id,
            "structure": event.structure_id,
            "details": event.details,
        },
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session,
    action: str,
    *,
    actor=None,
    obj=None,
    object_type: str | None = None,
    object_id=None,
    structure_id: int | None = None,
    details: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event, in the caller's transaction; it is sealed into the chain at commit.

    The event joins the session without a flush of its own: the next flush writes it (any query of
    the session first flushes it, so the transaction sees it), or, when it is the transaction's only
    event and nothing flushed it meanwhile, the seal inserts it already sealed (PostgreSQL: one
    statement for the event and the anchor, instead of an insert, then an update under the chain's
    lock)."""
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    event = AuditEvent(
        at=at or utcnow(),
        actor_id=getattr(actor, "id", actor),
        action=action,
        object_type=object_type or "system",
        object_id=None if object_id is None else str(object_id),
        structure_id=structure_id,
        details=details or {},
    )
    session.add(event)
    session.info.setdefault(_UNSEALED, []).append(event)
    note_write(session)  # written at commit, perhaps without a flush (see _insert_sealed_and_anchor)
    return event


_UNSEALED = "audit_unsealed_events"
CHAIN_LOCK = 7270001


def seal(session: Session) -> int:
    """Chain this transaction's unsealed events after the last sealed one (called before every
    commit by a session hook; also by :func:`verify_chain`). Returns how many were sealed."""
    pending = [e for e in session.info.pop(_UNSEALED, []) if e.hash is None and _in_transaction(e)]
    if not pending:
        return 0
    postgresql = session.get_bind().dialect.name == "postgresql"
    if not (postgresql and len(pending) == 1 and sa.inspect(pending[0]).pending):
        session.flush()  # every event gets its id: the chain follows the order they were recorded in
    if postgresql:
        # Held until the end of the commit: the next sealer reads this transaction's last hash.
        last = _lock_chain_and_read_head(session)
    else:
        last = session.execute(sa.select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.is_not(None))
                               .order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev = (last[0], last[1]) if last else (0, None)
    sealed = []
    for event in sorted(pending, key=lambda e: e.id or 0):
        seq += 1
        digest = _digest(prev, event)
        sealed.append((event, seq, prev, digest))
        prev = digest
    if postgresql and len(sealed) == 1 and sa.inspect(sealed[0][0]).pending:
        _insert_sealed_and_anchor(session, sealed, seq, prev)
    elif postgresql and len(sealed) == 1 and not sa.inspect(sealed[0][0]).modified:
        _seal_and_anchor_at_once(session, sealed, seq, prev)
    else:
        for event, number, previous, digest in sealed:
            event.seq, event.prev_hash, event.hash = number, previous, digest
        session.flush()
        _write_anchor(session, seq, prev)
    return len(pending)


# PostgreSQL: the chain's lock, then its head, sent together (one round trip instead of two). Two
# statements of one simple query: the second takes its own snapshot once the first holds the lock
# (READ COMMITTED), so it reads the head the previous sealer committed. No parameter (a simple query
# takes none): the lock's key is a constant.
_LOCK_AND_HEAD = ("SELECT pg_advisory_xact_lock(7270001); "  # CHAIN_LOCK
                  "SELECT seq, hash FROM audit_events WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1")
assert str(CHAIN_LOCK) in _LOCK_AND_HEAD


def _lock_chain_and_read_head(session: Session):
    """Take the chain's advisory lock (held until the end of the commit) and read the last sealed
    event's ``(seq, hash)``, or None, in one round trip. The chain is sealed under this lock only:
    the time it is held is the time every other writer waits, so each round trip counts."""
    result = session.connection().exec_driver_sql(_LOCK_AND_HEAD)
    try:
        cursor = result.cursor
        if not cursor.nextset():  # pragma: no cover - the driver always returns both results
            raise RuntimeError("audit chain: head not returned with the lock")
        return cursor.fetchone()
    finally:
        result.close()


def _in_transaction(event: AuditEvent) -> bool:
    """Still to be written or written (not rolled back with a savepoint or the transaction)."""
    state = sa.inspect(event)
    return state.persistent or state.pending


def _anchor_update() -> sa.Update:
    """The anchor's rewrite with named parameters (:func:`_anchor_params`), for the one-statement
    seals below."""
    anchor = AuditAnchor.__table__
    return (sa.update(anchor).where(anchor.c.id == 1)
            .values(seq=sa.bindparam("anchor_seq"), hash=sa.bindparam("anchor_hash"),
                    at=sa.bindparam("anchor_at", type_=anchor.c.at.type), mac=sa.bindparam("anchor_mac")))


def _anchor_params(head: Head) -> dict:
    return {"anchor_seq": head.seq, "anchor_hash": head.hash, "anchor_at": head.at, "anchor_mac": head.mac}


def _create_anchor(execute, head: Head) -> None:
    """No anchor row yet (the rewrite changed nothing): create it."""
    execute(sa.insert(AuditAnchor.__table__).values(id=1, seq=head.seq, hash=head.hash, at=head.at, mac=head.mac))


_INSERT_SEALED_AND_ANCHOR = None
_EVENT_COLUMNS = ("at", "actor_id", "action", "object_type", "object_id", "structure_id", "details")


def _insert_sealed_and_anchor(session: Session, sealed: list, seq: int, hash_: str) -> None:
    """PostgreSQL, the transaction's one event not yet written (the common case: an activity
    logged): the event inserted already sealed, and the anchor rewritten, in one statement, under
    the chain's lock. The object then stands for the row as written (``make_transient_to_detached``
    and back into the session, as a loaded one): the commit's flush does not insert it again. Built
    once with named parameters so that its compiled form is cached."""
    global _INSERT_SEALED_AND_ANCHOR
    from sqlalchemy.orm import make_transient_to_detached

    if _INSERT_SEALED_AND_ANCHOR is None:
        events = AuditEvent.__table__
        inserted = (sa.insert(events)
                    .values(**{name: sa.bindparam(name, type_=events.c[name].type)
                               for name in (*_EVENT_COLUMNS, "seq", "prev_hash", "hash")})
                    .returning(events.c.id).cte("inserted"))
        anchored = _anchor_update().returning(AuditAnchor.__table__.c.id).cte("anchored")
        _INSERT_SEALED_AND_ANCHOR = sa.select(
            inserted.c.id, sa.select(sa.func.count()).select_from(anchored).scalar_subquery())
    (event, number, previous, digest), = sealed  # record() set its time and details
    head = Head.sign(seq, hash_, utcnow())
    values = {name: getattr(event, name) for name in _EVENT_COLUMNS}
    connection = session.connection()  # not session.execute: its autoflush would insert the event first
    event_id, anchors = connection.execute(_INSERT_SEALED_AND_ANCHOR, {
        **values, "seq": number, "prev_hash": previous, "hash": digest, **_anchor_params(head)}).one()
    if anchors == 0:  # the event is written all the same
        _create_anchor(connection.execute, head)
    session.expunge(event)
    event.id, event.seq, event.prev_hash, event.hash = event_id, number, previous, digest
    make_transient_to_detached(event)
    session.add(event)


_SEAL_ONE_AND_ANCHOR = None


def _seal_and_anchor_at_once(session: Session, sealed: list, seq: int, hash_: str) -> None:
    """PostgreSQL, one event (the common case): its seal and the anchor in one statement (``WITH
    sealed AS (UPDATE audit_events …) UPDATE audit_anchor …``), one round trip less under the
    chain's lock; the ORM is told the values it now holds. Built once with named parameters so
    that its compiled form is cached."""
    global _SEAL_ONE_AND_ANCHOR
    from sqlalchemy.orm.attributes import set_committed_value

    if _SEAL_ONE_AND_ANCHOR is None:
        events = AuditEvent.__table__
        seal_event = (sa.update(events).where(events.c.id == sa.bindparam("event_id"))
                      .values(seq=sa.bindparam("event_seq"), prev_hash=sa.bindparam("event_prev_hash"),
                              hash=sa.bindparam("event_hash")).cte("sealed"))
        _SEAL_ONE_AND_ANCHOR = _anchor_update().add_cte(seal_event)
    (event, number, previous, digest), = sealed
    head = Head.sign(seq, hash_, utcnow())
    updated = session.execute(_SEAL_ONE_AND_ANCHOR, {
        "event_id": event.id, "event_seq": number, "event_prev_hash": previous, "event_hash": digest,
        **_anchor_params(head)}).rowcount
    if updated == 0:  # the CTE ran all the same (the event is sealed)
        _create_anchor(session.execute, head)
    for name, value in (("seq", number), ("prev_hash", previous), ("hash", digest)):
        set_committed_value(event, name, value)


# --- the anchor: the chain's head, authenticated with a key the database does not hold -----------

ANCHOR_KEY_DERIVATION = b"mediation.audit.anchor.v1"


def anchor_key(app=None) -> bytes:
    """MEDIATION_AUDIT_ANCHOR_KEY if set, else HMAC-SHA256(SECRET_KEY, a fixed label)."""
    if app is not None or has_app_context():
        config = (app or current_app).config
    else:
        # Outside any application (a script with a bare Session): the settings the application
        # would read from this environment.
        from mediation.config import from_environment

        config = from_environment()
    key = config.get("MEDIATION_AUDIT_ANCHOR_KEY")
    if key:
        return key.encode() if isinstance(key, str) else bytes(key)
    secret = config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(secret, ANCHOR_KEY_DERIVATION, hashlib.sha256).digest()


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Head:
    """A signed head of the chain: the anchor as stored, or as exported by operators."""

    seq: int
    hash: str
    at: datetime
    mac: str

    @staticmethod
    def sign(seq: int, hash_: str, at: datetime, key: bytes | None = None) -> Head:
        at = at.astimezone(UTC).replace(microsecond=0)
        return Head(seq, hash_, at, _mac(key or anchor_key(), seq, hash_, at))

    def authentic(self, key: bytes | None = None) -> bool:
        return hmac.compare_digest(self.mac, _mac(key or anchor_key(), self.seq, self.hash, self.at))

    @property
    def day(self) -> str:
        from mediation.types import LOCAL_TIMEZONE

        return self.at.astimezone(LOCAL_TIMEZONE).strftime("%d/%m/%Y à %H:%M")

    def line(self) -> str:
        return f"mediation-audit-head v1 seq={self.seq} at={_stamp(self.at)} hash={self.hash} mac={self.mac}"

    @staticmethod
    def parse(text: str) -> Head:
        match = _HEAD_LINE.search(text)
        if not match:
            raise ValueError("Tête de journal illisible : attendu « mediation-audit-head v1 seq=… at=… "
                             "hash=… mac=… » (sortie de « flask audit head »).")
        at = datetime.strptime(match["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return Head(int(match["seq"]), match["hash"], at, match["mac"])


_HEAD_LINE = re.compile(r"mediation-audit-head v1 seq=(?P<seq>\d+) at=(?P<at>\S+) "
                        r"hash=(?P<hash>[0-9a-f]{64}) mac=(?P<mac>[0-9a-f]{64})")


def _mac(key: bytes, seq: int, hash_: str, at: datetime) -> str:
    message = f"mediation-audit-head|v1|{seq}|{hash_}|{_stamp(at)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _write_anchor(session: Session, seq: int, hash_: str) -> None:
    """Rewrite the one anchor row (same transaction as the seal; on PostgreSQL under the chain's
    advisory lock already held, so it adds no waiting)."""
    from mediation.types import utcnow as now

    head = Head.sign(seq, hash_, now())
    values = {"seq": head.seq, "hash": head.hash, "at": head.at, "mac": head.mac}
    table = AuditAnchor.__table__
    if session.execute(sa.update(table).where(table.c.id == 1).values(**values)).rowcount == 0:
        session.execute(sa.insert(table).values(id=1, **values))


def stored_anchor(session: Session) -> Head | None:
    table = AuditAnchor.__table__
    row = session.execute(sa.select(table.c.seq, table.c.hash, table.c.at, table.c.mac)
                          .where(table.c.id == 1)).first()
    if row is None:
        return None
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    return Head(row.seq, row.hash, at, row.mac)


@sa.event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    if session.info.get(_UNSEALED):
        seal(session)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction) -> None:
    """Events of a rolled-back (sub)transaction are gone: keep only those still in the database."""
    if session.info.get(_UNSEALED):
        session.info[_UNSEALED] = [e for e in session.info[_UNSEALED] if _in_transaction(e)]


@dataclass
class ChainCheck:
    checked: int
    broken_at: int | None
    # What is wrong with the chain's end, in French (truncated tail, forged anchor, exported head
    # no longer in the chain...).
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken_at is None and not self.problems


def verify_chain(session: Session, batch: int = 5000, heads: tuple[Head, ...] | list[Head] = ()) -> ChainCheck:
    """Recompute every hash in chain order; report the first event whose hash does not match, or
    an event that was committed without a seal; then check the chain ends at the signed anchor and
    still holds every exported ``heads``. Seals the caller's own pending events first."""
    seal(session)
    unsealed = session.scalar(sa.select(sa.func.min(AuditEvent.id)).where(AuditEvent.seq.is_(None)))
    wanted = {head.seq for head in heads}
    seen: dict[int, str] = {}
    prev = None
    checked = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            if event.prev_hash != prev or _digest(prev, event) != event.hash:
                return ChainCheck(checked, event.id)
            prev = event.hash
            checked += 1
            last_seq = event.seq
            if event.seq in wanted:
                seen[event.seq] = event.hash
    problems = _check_end(session, last_seq, prev, heads, seen)
    return ChainCheck(checked, unsealed, problems)


def _hash_at(session: Session, seq: int) -> str | None:
    """An event sealed after the walk read its batch (a writer committing meanwhile)."""
    return session.scalar(sa.select(AuditEvent.hash).where(AuditEvent.seq == seq))


def _last_present(session: Session) -> int:
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.seq), 0)))


def _check_end(session: Session, last_seq: int, last_hash: str | None, heads, seen: dict[int, str]) -> list[str]:
    problems = []
    key = anchor_key()
    anchor = stored_anchor(session)
    if anchor is None:
        if last_seq:
            problems.append("Ancre du journal absente : la fin du journal ne peut pas être vérifiée "
                            "(ancre supprimée ?).")
    elif not anchor.authentic(key):
        problems.append("Ancre du journal invalide : sa signature est fausse (ancre modifiée sans la clé "
                        "MEDIATION_AUDIT_ANCHOR_KEY, ou clé changée).")
    else:
        # Read after the walk: a writer may have committed events (and their anchor) meanwhile.
        if anchor.seq > last_seq and _hash_at(session, anchor.seq) is None:
            problems.append(f"Journal tronqué : l'ancre indique l'évènement n° {anchor.seq}, "
                            f"le dernier présent est le n° {_last_present(session)}.")
        elif anchor.seq < last_seq:
            problems.append(f"Évènements au-delà de l'ancre : l'ancre indique l'évènement n° {anchor.seq}, "
                            f"le journal va jusqu'au n° {last_seq} (ajoutés hors de l'application ?).")
        elif (last_hash if anchor.seq == last_seq else _hash_at(session, anchor.seq)) != anchor.hash:
            problems.append(f"Ancre et journal divergent : l'empreinte de l'évènement n° {anchor.seq} n'est "
                            "pas celle de l'ancre.")
    for head in heads:
        if not head.authentic(key):
            problems.append(f"Tête exportée (évènement n° {head.seq}, {head.day}) invalide : sa signature "
                            "est fausse.")
            continue
        present = seen.get(head.seq) or _hash_at(session, head.seq)
        if present is None:
            problems.append(f"Journal tronqué : la tête exportée le {head.day} indique l'évènement "
                            f"n° {head.seq}, le dernier présent est le n° {_last_present(session)}.")
        elif present != head.hash:
            problems.append(f"La tête exportée le {head.day} ne correspond plus au journal : l'évènement "
                            f"n° {head.seq} a une autre empreinte.")
    return problems


def current_head(session: Session) -> Head:
    """The anchor, after checking it is authentic and that the chain ends there (what operators
    export every day). Raises ValueError with the French reason otherwise."""
    check = verify_chain(session)
    if not check.ok:
        raise ValueError(" ".join(check.problems) or f"Journal d'audit altéré à l'évènement n° {check.broken_at}.")
    anchor = stored_anchor(session)
    if anchor is None:
        raise ValueError("Journal d'audit vide : pas encore de tête à exporter.")
    return anchor


def search(session: Session, *, action=None, actor_id=None, object_type=None, object_id=None,
           since=None, until=None):
    """Query for the admin page, newest first (the caller paginates)."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id:
        query = query.where(AuditEvent.object_id == str(object_id))
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at < until)
    return query
