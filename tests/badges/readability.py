"""Readability of French pages: the Kandel–Moles adaptation of the Flesch score (1958),
207 − 1.015 × words per sentence − 73.6 × syllables per word, on the text a person sees.

Syllables are counted by a small French rule set (groups of vowels; a silent final « e », « es » or
verb ending « ent » after a consonant does not count; « ion », « ia », « ie »… count once, as in
speech): close
enough to a manual count for a score, and without a dictionary to install. Higher is easier:
about 60–70 is plain, everyday French; administrative letters score 30–50.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOWELS = "aeiouyàâäéèêëîïôöùûüÿœæ"
_GROUP = re.compile(f"[{VOWELS}]+")
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿœŒæÆ]+(?:[-’'][A-Za-zÀ-ÖØ-öø-ÿœŒæÆ]+)*")
_SENTENCE_END = re.compile(r"[.!?:;…]+(?=\s|$)")
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "dt", "dd", "label", "button", "summary", "legend", "td", "th",
          "div", "section", "a", "option", "title", "caption", "figcaption", "span"}
SKIPPED = {"script", "style", "svg", "title", "head", "noscript"}


def syllables(word: str) -> int:
    word = word.lower().replace("’", "'")
    if "'" in word:  # « l'ordinateur », « aujourd'hui »: the elided part carries no syllable
        return sum(syllables(part) for part in word.split("'") if part)
    if "-" in word:
        return sum(syllables(part) for part in word.split("-") if part)
    count = len(_GROUP.findall(word))
    if count > 1 and re.search(f"[^{VOWELS}](e|es)$", word):
        count -= 1  # « carte », « cartes »
    elif count > 1 and re.search(f"[^{VOWELS}]ent$", word) and not re.search("(ment|dent|vent|cent)$", word):
        count -= 1  # « ils gardent »
    # Groups of vowels read as two syllables: « éa », « éo », « ée » inside a word (« cré-er »).
    count += len(re.findall(r"(éa|éo|oé|ée(?!s?$))", word))
    return max(1, count)


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[list[str]] = [[]]
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        elif tag in BLOCKS or tag == "br":
            self.blocks.append([])

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.blocks.append([])

    def handle_data(self, data):
        if not self.skipping:
            self.blocks[-1].append(data)


def visible_text(html: str) -> list[str]:
    """The text blocks of a page's body (headings, paragraphs, buttons, list items…)."""
    body = html.split("<body", 1)[-1]
    parser = _Text()
    parser.feed(body)
    return [" ".join("".join(b).split()) for b in parser.blocks if "".join(b).strip()]


def sentences(blocks: list[str]) -> list[list[str]]:
    found = []
    for block in blocks:
        for part in _SENTENCE_END.split(block):
            words = [w for w in _WORD.findall(part) if not re.search(r"\d", w)]
            if words:
                found.append(words)
    return found


def kandel_moles(html: str) -> float:
    found = sentences(visible_text(html))
    words = [w for s in found for w in s]
    if not words:
        return 100.0
    return 207 - 1.015 * len(words) / len(found) - 73.6 * sum(syllables(w) for w in words) / len(words)
