"""French text helpers shared by domain code and templates (registered as Jinja filters in
mediation.web): elision before a name, phone numbers, durations. No web dependency.

>>> de("Elbeuf"), de("Rouen"), que("administrateur·rice"), le("Hôtel de ville"), le("hangar")
("d'Elbeuf", 'de Rouen', "qu'administrateur·rice", "l'Hôtel de ville", 'le hangar')
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from markupsafe import Markup, escape

# A word starting with h elides only when listed here (mute h); every other h is treated as aspirated
# (« le Havre », « de Honfleur »): a missing elision reads better than a wrong one.
MUTE_H = frozenset({
    "habitant", "habitants", "habitante", "habitantes", "habitat", "habitation", "habitude", "habileté",
    "handicap", "harmonie", "hébergement", "hélène", "henri", "herbe", "héritage", "heure", "heures",
    "histoire", "hiver", "homme", "hommes", "honneur", "hôpital", "horaire", "horaires", "horizon",
    "hortense", "hospice", "hôte", "hôtel", "huile", "hugo", "huissier", "humain", "humanité", "hygiène",
})
ELIDING = {"de": "d'", "que": "qu'", "le": "l'", "la": "l'", "je": "j'", "ne": "n'", "se": "s'",
           "jusque": "jusqu'", "lorsque": "lorsqu'", "puisque": "puisqu'"}
_VOWELS = set("aeiouæœ")


def _base(letter: str) -> str:
    """The letter without its accent, lower case (« É » → « e »)."""
    return unicodedata.normalize("NFD", letter)[0].lower()


def starts_with_vowel_sound(word: str) -> bool:
    """Whether a word elides the article before it: a vowel (accented or not, any case), a y followed
    by a consonant (« Yvetot »), or a listed mute h (« hôpital »)."""
    word = (word or "").lstrip(" «\"(")
    if not word:
        return False
    first = _base(word[0])
    if first in _VOWELS:
        return True
    if first == "y":
        return len(word) > 1 and _base(word[1]) not in _VOWELS
    if first == "h":
        head = "".join(c for c in word.split()[0].lower() if c.isalpha() or c in "-'")
        return head.split("-")[0].split("'")[0] in MUTE_H
    return False


def elide(word: str, following) -> str:
    """``word`` + ``following`` with the elision French requires: elide("de", "Elbeuf") → « d'Elbeuf »,
    elide("de", "Rouen") → « de Rouen ». The case of ``word`` is kept (« De » → « D' »)."""
    if isinstance(following, Markup):  # already escaped (a macro's output): keep it so
        plain = following.striptags()
        return escape(elide(word, plain).removesuffix(plain)) + following
    following = "" if following is None else str(following)
    short = ELIDING.get(word.lower())
    if short and starts_with_vowel_sound(following):
        short = short[0].upper() + short[1:] if word[:1].isupper() else short
        return f"{short}{following}"
    return f"{word} {following}"


def de(following) -> str:
    return elide("de", following)


def que(following) -> str:
    return elide("que", following)


def le(following) -> str:
    return elide("le", following)


def la(following) -> str:
    return elide("la", following)


# French numbering plan (metropolitan France and overseas): shown in the national format.
_FRENCH_REGIONS = frozenset({"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"})


def phone_fr(value) -> str:
    """A phone number as people read it: « 02 30 00 00 06 » for a French number (stored as
    +33230000006 or typed any way), the international format for another country
    (« +49 1511 2345678 »), the text unchanged when it is not a phone number."""
    if value is None or not str(value).strip():
        return "—"
    text = str(value).strip()
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_possible_number(number):
        return text
    region = phonenumbers.region_code_for_number(number)
    national = phonenumbers.national_significant_number(number)
    if region in _FRENCH_REGIONS and len(national) == 9:  # 0X XX XX XX XX, overseas included
        digits = "0" + national
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if region in _FRENCH_REGIONS
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


def duration_fr(minutes) -> str:
    """A duration in minutes as French people write it: « 45 min », « 2 h », « 1 h 30 », « 1 h 05 »
    (as the opening hours are written); « — » when unknown."""
    if minutes is None or minutes == "":
        return "—"
    minutes = int(minutes)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" + (f" {rest:02d}" if rest else "")


FILTERS = {"de": de, "que": que, "le": le, "la": la, "phone_fr": phone_fr, "duration_fr": duration_fr}
