"""Directory rules: territories, communes and structures (the national-schema fields).

Every function takes the session, checks who acts (``actor``) against ``directory.policy``,
validates its input (raising :class:`ValidationFailed` with one French message per field in
``errors``), flushes, and writes an audit event. The request commits. Staff accounts and
memberships are in ``directory.staff``; the CSV exchange in ``directory.exchange``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import User
from mediation.directory import policy
from mediation.directory.models import Commune, Structure, Territory, TerritoryKind
from mediation.directory.national_schema import LIST_FIELDS, LIST_SEPARATOR, ListField
from mediation.errors import DomainError, Forbidden, ValidationFailed
from mediation.types import local_today, utcnow

# --- validation helpers ----------------------------------------------------------------------


class FieldError(ValueError):
    """One field's value is invalid; the message is French and shown as is."""


def fail(errors: dict[str, str]) -> None:
    """Raise one ValidationFailed carrying every field's message."""
    if not errors:
        return
    messages = list(errors.values())
    message = messages[0] if len(messages) == 1 else (
        f"{len(messages)} champs sont à corriger : " + " ".join(messages)
    )
    raise ValidationFailed(message, errors=dict(errors))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_text(value: Any, *, max_length: int, required: str | None = None, label: str = "Ce champ"
               ) -> str | None:
    if _blank(value):
        if required:
            raise FieldError(required)
        return None
    text = str(value).strip()
    if len(text) > max_length:
        raise FieldError(f"{label} ne peut dépasser {max_length} caractères (il en compte {len(text)}).")
    return text


def siret_is_valid(siret: str) -> bool:
    """14 digits whose Luhn checksum is right."""
    if not re.fullmatch(r"\d{14}", siret or ""):
        return False
    total = 0
    for position, char in enumerate(reversed(siret)):
        digit = int(char)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def clean_siret(value: Any) -> str | None:
    if _blank(value):
        return None
    siret = re.sub(r"[\s.]", "", str(value))
    if not re.fullmatch(r"\d{14}", siret):
        raise FieldError("Le SIRET doit comporter exactement 14 chiffres.")
    if set(siret) == {"0"}:  # the schema's placeholder for "unknown"
        return None
    if not siret_is_valid(siret):
        raise FieldError("Ce numéro SIRET n'existe pas : sa clé de contrôle est incorrecte. Vérifiez les 14 chiffres.")
    return siret


def clean_rna(value: Any) -> str | None:
    if _blank(value):
        return None
    rna = str(value).strip().upper()
    if not re.fullmatch(r"W\d{9}", rna):
        raise FieldError("Le numéro RNA doit être la lettre W suivie de 9 chiffres (ex. W763000123).")
    return rna


def clean_postal_code(value: Any) -> str | None:
    if _blank(value):
        return None
    code = str(value).strip().replace(" ", "")
    if not re.fullmatch(r"\d{5}", code):
        raise FieldError("Le code postal doit comporter 5 chiffres.")
    return code


def clean_insee_code(value: Any) -> str:
    if _blank(value):
        raise FieldError("Le code INSEE est obligatoire.")
    code = str(value).strip().upper()
    if not re.fullmatch(r"\d{5}|2[AB]\d{3}", code):
        raise FieldError("Le code INSEE doit comporter 5 caractères (chiffres, ou 2A/2B suivi de 3 chiffres "
                         "pour la Corse).")
    return code


def _number(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
    return float(text)


def clean_coordinate(value: Any, *, low: float, high: float, label: str) -> float | None:
    if _blank(value):
        return None
    try:
        number = _number(value)
    except ValueError:
        raise FieldError(f"La {label} doit être un nombre décimal (ex. 49,4431).") from None
    if not low <= number <= high:
        raise FieldError(f"La {label} doit être comprise entre {low:g} et {high:g}.")
    return number


def clean_population(value: Any) -> int | None:
    if _blank(value):
        return None
    try:
        number = _number(value)
    except ValueError:
        number = -1.0
    if not math.isfinite(number) or number < 0 or number != int(number):
        raise FieldError("La population doit être un nombre entier positif ou nul.")
    return int(number)


def clean_phone(value: Any) -> str | None:
    """French numbers are stored in the schema's +33 form."""
    if _blank(value):
        return None
    raw = re.sub(r"[\s.\-()]", "", str(value))
    if re.fullmatch(r"0[1-9]\d{8}", raw):
        return "+33" + raw[1:]
    if re.fullmatch(r"\+\d{8,15}", raw):
        return raw
    raise FieldError("Numéro de téléphone invalide : saisissez 10 chiffres (ex. 02 35 00 00 00) ou le "
                     "format international (+33…).")


def clean_emails(value: Any) -> list[str]:
    items = _split(value)
    emails = []
    for item in items:
        try:
            emails.append(validate_email(item, check_deliverability=False).normalized)
        except EmailNotValidError:
            raise FieldError(f"Adresse e-mail invalide : « {item} ».") from None
    return emails


def clean_url(value: Any, *, label: str) -> str | None:
    if _blank(value):
        return None
    url = str(value).strip()
    if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", url, flags=re.IGNORECASE) or len(url) > 300:
        raise FieldError(f"{label} doit être une adresse web complète commençant par https:// (300 caractères "
                         "au plus).")
    return url


def clean_urls(value: Any, *, label: str) -> str | None:
    """One or more web addresses, separated by « | » (schema v1.0.2: a site and its social networks)."""
    if _blank(value):
        return None
    urls = [clean_url(part, label=label) for part in re.split(r"[|;\s]+", str(value)) if part.strip()]
    text = "|".join(dict.fromkeys(u for u in urls if u))
    if len(text) > 1000:
        raise FieldError(f"{label} : 1000 caractères au plus pour l'ensemble des adresses.")
    return text or None


def clean_date(value: Any, *, label: str = "La date") -> date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise FieldError(f"{label} doit être au format AAAA-MM-JJ (ex. 2026-09-01).") from None


def _split(value: Any) -> list[str]:
    if _blank(value):
        return []
    if isinstance(value, str):
        items = value.split(LIST_SEPARATOR)
    else:  # a list from a form or JSON; a lone number or other scalar (JSON, spreadsheet cell) is one item
        items = list(value) if isinstance(value, list | tuple | set) else [value]
    return [str(item).strip() for item in items if not _blank(item)]


def _fold(text: str) -> str:
    return " ".join(text.replace("’", "'").casefold().split())


def clean_list(value: Any, field: ListField) -> list[str]:
    """Values of a multi-valued field, restricted to the schema's list, in the given order without
    repeats. Matching forgives case, spacing and apostrophes (’ or ')."""
    known = {_fold(v): v for v in field.values}
    chosen, unknown = [], []
    for item in _split(value):
        canonical = known.get(_fold(item))
        if canonical is None:
            unknown.append(item)
        elif canonical not in chosen:
            chosen.append(canonical)
    if unknown:
        quoted = ", ".join(f"« {u} »" for u in unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise FieldError(f"{field.label} : valeur{plural} inconnue{plural} du schéma national {quoted}.")
    return chosen


# --- structures ------------------------------------------------------------------------------

STRUCTURE_FIELDS: dict[str, Any] = {
    "name": lambda v: clean_text(v, max_length=250, required="Le nom de la structure est obligatoire.",
                                 label="Le nom"),
    "siret": clean_siret,
    "rna": clean_rna,
    "address": lambda v: clean_text(v, max_length=300, required="L'adresse est obligatoire.",
                                    label="L'adresse"),
    "complement_address": lambda v: clean_text(v, max_length=300, label="Le complément d'adresse"),
    "postal_code": clean_postal_code,
    "latitude": lambda v: clean_coordinate(v, low=-90, high=90, label="latitude"),
    "longitude": lambda v: clean_coordinate(v, low=-180, high=180, label="longitude"),
    "telephone": clean_phone,
    "courriels": clean_emails,
    "site_web": lambda v: clean_urls(v, label="Le site web"),
    "fiche_acces_libre": lambda v: clean_url(v, label="Le lien vers la fiche Acceslibre"),
    "presentation_detail": lambda v: clean_text(v, max_length=10_000, label="La présentation détaillée"),
    "source": lambda v: clean_text(v, max_length=200, label="La source"),
    "structure_parente": lambda v: clean_text(v, max_length=250, label="La structure parente"),
    "autres_formations_labels": lambda v: clean_text(v, max_length=500, label="Les autres formations et labels"),
    "prise_rdv": lambda v: clean_url(v, label="Le lien de prise de rendez-vous"),
    "horaires": lambda v: clean_text(v, max_length=500, label="Les horaires"),
    "presentation_resume": lambda v: clean_text(v, max_length=280, label="La présentation"),
    "date_maj": lambda v: clean_date(v, label="La date de mise à jour"),
    **{f.attr: (lambda v, f=f: clean_list(v, f)) for f in LIST_FIELDS},
}


def clean_structure(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate the national-schema fields of a structure. ``partial``: only the keys present.
    Returns the cleaned values by model attribute; raises ValidationFailed (one message per field)."""
    values, errors = {}, {}
    for attr, cleaner in STRUCTURE_FIELDS.items():
        if partial and attr not in data:
            continue
        try:
            values[attr] = cleaner(data.get(attr))
        except FieldError as error:
            errors[attr] = str(error)
    for attr in set(data) - set(STRUCTURE_FIELDS):
        errors[attr] = f"Champ inconnu : « {attr} »."
    has_lat = "latitude" in values and values["latitude"] is not None
    has_lon = "longitude" in values and values["longitude"] is not None
    if ("latitude" in values and "longitude" in values and has_lat != has_lon
            and "latitude" not in errors and "longitude" not in errors):
        errors["latitude" if not has_lat else "longitude"] = (
            "Indiquez la latitude et la longitude, ou aucune des deux."
        )
    fail(errors)
    return values


def _check_siret_free(session: Session, siret: str | None, structure: Structure | None = None) -> None:
    if not siret:
        return
    query = sa.select(Structure).where(Structure.siret == siret)
    if structure is not None and structure.id is not None:
        query = query.where(Structure.id != structure.id)
    other = session.scalar(query)
    if other is not None:
        fail({"siret": f"Ce SIRET est déjà celui de la structure « {other.name} »."})


def create_structure(session: Session, actor: User, commune: Commune, data: Mapping[str, Any],
                     *, details: dict | None = None) -> Structure:
    """Create a structure in ``commune`` (admin, or coordinator of the commune's territory).
    Raises Forbidden, ValidationFailed."""
    if not policy.can_use_commune(actor, commune):
        raise Forbidden("Vous ne pouvez pas créer de structure dans cette commune (hors de votre territoire).")
    values = clean_structure(data)
    _check_siret_free(session, values.get("siret"))
    values["postal_code"] = values.get("postal_code") or commune.postal_code
    values["date_maj"] = values.get("date_maj") or local_today()
    structure = Structure(commune=commune, **values)
    session.add(structure)
    session.flush()
    record(session, "structure.created", actor=actor, obj=structure, structure_id=structure.id,
           details={"commune": commune.insee_code, **(details or {})})
    return structure


def update_structure(session: Session, actor: User, structure: Structure, data: Mapping[str, Any],
                     *, commune: Commune | None = None, details: dict | None = None) -> list[str]:
    """Change the given fields (and, optionally, the commune). Returns the changed field names;
    ``date_maj`` becomes today unless given. Raises Forbidden, ValidationFailed."""
    if not policy.can_edit_structure(actor, structure):
        raise Forbidden("Vous ne pouvez pas modifier cette structure (hors de votre territoire).")
    if commune is not None and commune.id != structure.commune_id and not policy.can_use_commune(actor, commune):
        raise Forbidden("Vous ne pouvez pas déplacer cette structure dans une commune hors de votre territoire.")
    values = clean_structure(data, partial=True)
    if "siret" in values:
        _check_siret_free(session, values["siret"], structure)
    changed = [attr for attr, value in values.items() if getattr(structure, attr) != value and attr != "date_maj"]
    if commune is not None and commune.id != structure.commune_id:
        structure.commune = commune
        changed.append("commune")
    if not changed:
        return []
    for attr, value in values.items():
        setattr(structure, attr, value)
    if values.get("date_maj") is None:
        structure.date_maj = local_today()
    structure.updated_at = utcnow()
    session.flush()
    record(session, "structure.updated", actor=actor, obj=structure, structure_id=structure.id,
           details={"fields": sorted(changed), **(details or {})})
    return sorted(changed)


def archive_structure(session: Session, actor: User, structure: Structure) -> None:
    """Archive a structure that closed: it leaves lists and exports, its history stays."""
    if not policy.can_edit_structure(actor, structure):
        raise Forbidden("Vous ne pouvez pas archiver cette structure (hors de votre territoire).")
    if structure.archived_at is not None:
        raise DomainError("Cette structure est déjà archivée.")
    structure.archived_at = utcnow()
    session.flush()
    record(session, "structure.archived", actor=actor, obj=structure, structure_id=structure.id)


def restore_structure(session: Session, actor: User, structure: Structure) -> None:
    """Bring an archived structure back into the directory. An unlisted place (named by an imported
    file, kept out of the directory) is published this way, once its address is complete."""
    if not policy.can_edit_structure(actor, structure):
        raise Forbidden("Vous ne pouvez pas modifier cette structure (hors de votre territoire).")
    if structure.archived_at is None:
        raise DomainError("Cette structure n'est pas archivée.")
    published = structure.unlisted
    if published:
        missing = {attr: message for attr, message in (
            ("address", "Complétez l'adresse du lieu avant de le publier dans l'annuaire."),
            ("postal_code", "Complétez le code postal du lieu avant de le publier dans l'annuaire."),
        ) if not getattr(structure, attr)}
        fail(missing)
        structure.unlisted = False
        structure.date_maj = local_today()
    structure.archived_at = None
    session.flush()
    record(session, "structure.published" if published else "structure.restored", actor=actor, obj=structure,
           structure_id=structure.id)


# --- territories -----------------------------------------------------------------------------

def _clean_territory(session: Session, data: Mapping[str, Any], territory: Territory | None) -> dict:
    errors, values = {}, {}
    try:
        values["name"] = clean_text(data.get("name"), max_length=200, label="Le nom",
                                    required="Le nom du territoire est obligatoire.")
    except FieldError as error:
        errors["name"] = str(error)
    try:
        values["kind"] = TerritoryKind(data.get("kind"))
    except ValueError:
        errors["kind"] = "Choisissez le type de territoire (métropole, département…)."
    try:
        values["code"] = clean_text(data.get("code"), max_length=20, label="Le code")
    except FieldError as error:
        errors["code"] = str(error)
    if "name" in values:
        query = sa.select(Territory.id).where(sa.func.lower(Territory.name) == values["name"].lower())
        if territory is not None:
            query = query.where(Territory.id != territory.id)
        if session.scalar(query) is not None:
            errors["name"] = "Un territoire porte déjà ce nom."
    fail(errors)
    return values


def create_territory(session: Session, actor: User, data: Mapping[str, Any]) -> Territory:
    """Admins only. Raises Forbidden, ValidationFailed."""
    if not policy.can_create_territory(actor):
        raise Forbidden("Seul·e un·e administrateur·rice peut créer un territoire.")
    territory = Territory(**_clean_territory(session, data, None))
    session.add(territory)
    session.flush()
    record(session, "territory.created", actor=actor, obj=territory)
    return territory


def update_territory(session: Session, actor: User, territory: Territory, data: Mapping[str, Any]) -> None:
    if not policy.can_edit_territory(actor, territory):
        raise Forbidden("Seul·e un·e administrateur·rice peut modifier un territoire.")
    values = _clean_territory(session, data, territory)
    changed = sorted(k for k, v in values.items() if getattr(territory, k) != v)
    if changed:
        for key, value in values.items():
            setattr(territory, key, value)
        session.flush()
        record(session, "territory.updated", actor=actor, obj=territory, details={"fields": changed})


# --- communes --------------------------------------------------------------------------------

COMMUNE_FIELDS: dict[str, Any] = {
    "insee_code": clean_insee_code,
    "name": lambda v: clean_text(v, max_length=200, label="Le nom", required="Le nom de la commune est obligatoire."),
    "postal_code": clean_postal_code,
    "population": clean_population,
    "latitude": lambda v: clean_coordinate(v, low=-90, high=90, label="latitude"),
    "longitude": lambda v: clean_coordinate(v, low=-180, high=180, label="longitude"),
}


def _clean_commune(session: Session, data: Mapping[str, Any], commune: Commune | None) -> dict:
    values, errors = {}, {}
    for attr, cleaner in COMMUNE_FIELDS.items():
        try:
            values[attr] = cleaner(data.get(attr))
        except FieldError as error:
            errors[attr] = str(error)
    if "insee_code" in values:
        query = sa.select(Commune).where(Commune.insee_code == values["insee_code"])
        if commune is not None:
            query = query.where(Commune.id != commune.id)
        other = session.scalar(query)
        if other is not None:
            errors["insee_code"] = f"Le code INSEE {other.insee_code} est déjà celui de la commune {other.name}."
    fail(errors)
    return values


def create_commune(session: Session, actor: User, territory: Territory, data: Mapping[str, Any]) -> Commune:
    """Add a commune to ``territory`` (admin, or coordinator of that territory)."""
    if not policy.can_manage_territory(actor, territory):
        raise Forbidden("Vous ne pouvez pas ajouter de commune à ce territoire.")
    values = _clean_commune(session, data, _reference_only(session, data))
    commune = _reference_only(session, data) or Commune()
    centre = _reference_centre(values.get("insee_code"))
    if values.get("latitude") is None and values.get("longitude") is None and centre is not None:
        values["latitude"], values["longitude"] = centre  # the official centre, unless one is given
    for key, value in values.items():
        setattr(commune, key, value)
    commune.territory = territory  # a commune stored from the reference joins the territory
    commune.postal_codes = _with_postal_code(commune.postal_codes, commune.postal_code)
    session.add(commune)
    session.flush()
    record(session, "commune.created", actor=actor, obj=commune, details={"territory": territory.id})
    return commune


def _reference_centre(code: str | None) -> tuple[float, float] | None:
    """The centre of the commune in the shipped reference, when it has one."""
    from mediation.directory.reference import reference

    found = reference().get(code) if code else None
    if found is None or found.latitude is None or found.longitude is None:
        return None
    return found.latitude, found.longitude


def _reference_only(session: Session, data: Mapping[str, Any]) -> Commune | None:
    """The commune of that INSEE code stored outside every territory (from an import), if any."""
    try:
        code = clean_insee_code(data.get("insee_code"))
    except FieldError:
        return None
    return session.scalar(sa.select(Commune).where(Commune.insee_code == code, Commune.territory_id.is_(None)))


def _with_postal_code(codes: list | None, postal_code: str | None) -> list[str]:
    """All the postal codes of a commune, its main one first."""
    codes = list(codes or [])
    return [postal_code, *[c for c in codes if c != postal_code]] if postal_code else codes


def update_commune(session: Session, actor: User, commune: Commune, data: Mapping[str, Any],
                   *, territory: Territory | None = None) -> None:
    """Edit a commune; moving it to another territory is for admins."""
    if not policy.can_use_commune(actor, commune):
        raise Forbidden("Vous ne pouvez pas modifier cette commune (hors de votre territoire).")
    values = _clean_commune(session, data, commune)
    changed = sorted(k for k, v in values.items() if getattr(commune, k) != v)
    if territory is not None and territory.id != commune.territory_id:
        if not policy.can_move_commune(actor):
            raise Forbidden("Seul·e un·e administrateur·rice peut rattacher une commune à un autre territoire.")
        commune.territory = territory
        changed.append("territory")
    if changed:
        for key, value in values.items():
            setattr(commune, key, value)
        commune.postal_codes = _with_postal_code(commune.postal_codes, commune.postal_code)
        session.flush()
        record(session, "commune.updated", actor=actor, obj=commune, details={"fields": sorted(changed)})


def communes_by_insee(session: Session, codes: Iterable[str]) -> dict[str, Commune]:
    codes = sorted(set(codes))
    if not codes:
        return {}
    return {c.insee_code: c for c in session.scalars(sa.select(Commune).where(Commune.insee_code.in_(codes)))}
