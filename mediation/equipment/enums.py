"""Equipment library enumerations, each with the French label users read."""

from __future__ import annotations

from mediation.types import LabelledEnum


class DeviceKind(LabelledEnum):
    ORDINATEUR_PORTABLE = ("ordinateur_portable", "Ordinateur portable")
    ORDINATEUR_FIXE = ("ordinateur_fixe", "Ordinateur fixe")
    TABLETTE = ("tablette", "Tablette")
    SMARTPHONE = ("smartphone", "Smartphone")
    CLE_4G = ("cle_4g", "Clé 4G")
    AUTRE = ("autre", "Autre")


class DeviceCondition(LabelledEnum):
    NEUF = ("neuf", "Neuf")
    BON = ("bon", "Bon état")
    USAGE = ("usage", "Usagé")
    ENDOMMAGE = ("endommage", "Endommagé")
    HORS_SERVICE = ("hors_service", "Hors service")


#: A device in one of these conditions is not handed over to anyone.
UNFIT_CONDITIONS = (DeviceCondition.ENDOMMAGE, DeviceCondition.HORS_SERVICE)


class DeviceOrigin(LabelledEnum):
    DON = ("don", "Don")
    RECONDITIONNEUR = ("reconditionneur", "Reconditionneur")
    ACHAT = ("achat", "Achat")


class DeviceStatus(LabelledEnum):
    DISPONIBLE = ("disponible", "Disponible")
    PRETE = ("prete", "Prêté")
    DONNE = ("donne", "Donné")
    VENDU = ("vendu", "Vendu (achat solidaire)")
    REFORME = ("reforme", "Réformé")


#: A device that has left the structure for good (given, sold or written off).
GONE_STATUSES = (DeviceStatus.DONNE, DeviceStatus.VENDU, DeviceStatus.REFORME)
