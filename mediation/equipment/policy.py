"""Who may see and act on the equipment library.

- Mediators see the devices of the structures they work for today, and act on them: add a device,
  hand it over (loan, gift, solidarity purchase), take it back, attach the signed agreement, write
  it off. They see the borrowers' names (the agreement names the person).
- Coordinators (the structures of their territory) and administrators (everything) see the devices
  and the handovers WITHOUT names (« Bénéficiaire n° 123 »), move a device between two structures
  of their scope and write devices off; they do not open the agreement nor the signed scan.
- Funders and beneficiaries see nothing here (403 from the views' ``@access``).

Lookups go through the scope (:func:`get_device`, :func:`get_handover`): an id outside it is not
found (404), never loaded then refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from mediation.auth.models import Role, User
from mediation.directory.models import Structure
from mediation.directory.scopes import structure_scope
from mediation.equipment.models import Device, Handover

STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)


def can_hand_over(user: User) -> bool:
    """Add devices, lend, give, sell, take back, attach scans: mediators of the structure."""
    return user.role == Role.MEDIATOR


def can_see_identity(user: User) -> bool:
    """The borrower's name and the agreement: mediators only."""
    return user.role == Role.MEDIATOR


def can_transfer(user: User) -> bool:
    """Move a device between two structures of the scope: coordination and administration."""
    return user.role in (Role.ADMIN, Role.COORDINATOR)


def can_write_off(user: User) -> bool:
    return user.role in STAFF


def _structure_clause(user: User, column):
    if user.role not in STAFF:
        return sa.false()
    scope = structure_scope(user)
    return sa.true() if scope is None else column.in_(scope)


def visible_devices(user: User) -> sa.Select:
    """Devices held by a structure in the user's scope."""
    return sa.select(Device).where(_structure_clause(user, Device.structure_id))


def visible_handovers(user: User) -> sa.Select:
    """Handovers made by a structure in the user's scope (the device may have moved since)."""
    return sa.select(Handover).where(_structure_clause(user, Handover.structure_id))


def get_device(session: Session, user: User, device_id: int, *options) -> Device | None:
    return session.scalar(visible_devices(user).where(Device.id == device_id).options(*options))


def get_handover(session: Session, user: User, handover_id: int, *options) -> Handover | None:
    return session.scalar(visible_handovers(user).where(Handover.id == handover_id).options(*options))


def in_scope(session: Session, user: User, structure_id: int) -> bool:
    if user.role not in STAFF:
        return False
    scope = structure_scope(user)
    return True if scope is None else structure_id in set(session.scalars(scope))


def scope_structures_query(user: User) -> sa.Select:
    """The structures (not archived) whose inventory the user sees, by name."""
    return (sa.select(Structure).where(Structure.archived_at.is_(None), _structure_clause(user, Structure.id))
            .order_by(Structure.name, Structure.id))


def scope_structures(session: Session, user: User) -> list[Structure]:
    query = scope_structures_query(user).options(load_only(Structure.id, Structure.name))  # pick-lists: no JSON
    return list(session.scalars(query))


def transfer_targets(session: Session, user: User, device: Device) -> list[Structure]:
    if not can_transfer(user):
        return []
    return [s for s in scope_structures(session, user) if s.id != device.structure_id]


def beneficiary_label(user: User, handover: Handover) -> str:
    person = handover.beneficiary
    return person.display_name if can_see_identity(user) else person.pseudonym
