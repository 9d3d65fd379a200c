"""Did-you-mean for region names: what people type, matched to an atlas's structures.

People type a region the way they say it: a prefix of its name (``Thal``),
its name or a near form of it (``caudoputamen``, ``Hippocampus``), words of it
(``motor cortex``) or an acronym in the wrong case (``th``). :func:`suggest_regions`
ranks an atlas's structures against such a query by acronym *and* full name,
case-insensitively, and returns at most three. Pure Python, no atlas code:
give it ``(acronym, name, depth)`` triples (see :func:`structures_of`).

>>> allen = [("TH", "Thalamus", 4), ("CP", "Caudoputamen", 6), ("MO", "Somatomotor areas", 6)]
>>> [s.acronym for s in suggest_regions("Thal", allen)]
['TH']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable

#: Words that mean the same part of a name (Allen names cortical regions "... area(s)").
_SYNONYMS = {"cortex": ("cortex", "cortical", "area", "areas"), "area": ("area", "areas", "cortex"),
             "areas": ("area", "areas", "cortex"), "nuclei": ("nucleus", "nuclei"), "nucleus": ("nucleus", "nuclei")}
#: Name words that say nothing about which region it is.
_STOPWORDS = frozenset({"of", "the", "and", "part", "layer", "to", "in", "a"})

MAX_SUGGESTIONS = 3


def did_you_mean(word: str, choices) -> str:
    """``"; did you mean 'x'?"`` when ``word`` is close to one of ``choices``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class Suggestion:
    """A structure proposed for a query, with why it ranks where it does."""

    acronym: str
    name: str
    score: float

    def __str__(self) -> str:
        return f"{self.acronym!r} ({self.name})" if self.name and self.name != self.acronym else repr(self.acronym)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _word_match(query_word: str, name_word: str) -> float:
    """How well one typed word matches one word of a region name (0 to 1)."""
    forms = _SYNONYMS.get(query_word, (query_word,))
    best = 0.0
    for form in forms:
        weight = 1.0 if form == query_word else 0.9
        if name_word == form:
            best = max(best, weight)
        elif len(form) >= 2 and name_word.startswith(form):  # a prefix: 'thal' of 'thalamus'
            best = max(best, 0.9 * weight)
        elif len(form) >= 4 and len(_common_prefix(form, name_word)) >= max(4, min(len(form), len(name_word)) - 2):
            best = max(best, 0.85 * weight)  # the same stem: 'hippocampus', 'hippocampal'
        elif len(form) >= 4 and form in name_word:  # inside a compound: 'motor' in 'somatomotor'
            best = max(best, 0.7 * weight)
        elif len(form) >= 5 and difflib.SequenceMatcher(None, form, name_word).ratio() >= 0.75:
            best = max(best, 0.7 * weight)  # a misspelt word: 'hipocampus'
    return best


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return a[:n]


def _score(query: str, query_words: list[str], acronym: str, name: str) -> float:
    acr, low_name = acronym.lower(), name.lower()
    if acr == query:
        return 10.0
    if low_name == query:
        return 9.0
    score = 0.0
    name_words = [w for w in _words(name) if w not in _STOPWORDS] or _words(name)
    if query_words and name_words:
        matched = [max(((_word_match(q, w), i) for i, w in enumerate(name_words)), default=(0.0, -1))
                   for q in query_words]
        query_part = sum(m for m, _ in matched) / len(query_words)
        if query_part >= 0.5:
            covered = len({i for m, i in matched if m > 0}) / len(name_words)
            score = 4.0 * query_part + 2.0 * covered
    if len(query) >= 2 and acr.startswith(query) and acr != query:  # 'vplp' -> 'VPLpc'
        score = max(score, 3.0 + len(query) / len(acr))
    acr_ratio = difflib.SequenceMatcher(None, query, acr).ratio()
    if acr_ratio >= 0.6:  # a typo in the acronym: 'CPu' -> 'CP'
        score = max(score, 3.0 * acr_ratio)
    if len(query) >= 5:
        name_ratio = difflib.SequenceMatcher(None, query, low_name).ratio()
        if name_ratio >= 0.75:  # a typo in the name: 'Thalamsu'
            score = max(score, 5.0 * name_ratio)
    first = query_words[0] if query_words else query
    if len(acr) >= 2 and first.startswith(acr) and first != acr:  # said as a word: 'Thal' -> TH, 'motor' -> MO
        score += 1.0 + len(acr) / len(first)
    return score


def suggest_regions(query: str, structures: Iterable[tuple[str, str, int]], *,
                    limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """The structures a person most likely meant by ``query``, best first, at most ``limit``.

    Parameters
    ----------
    query : str
        What was typed: an acronym in any case, a name, a prefix or words of a name.
    structures : iterable of (acronym, name, depth)
        The atlas's structures; ``depth`` (levels below the root) breaks ties
        towards the larger region.

    Returns
    -------
    list of Suggestion
        Empty when nothing is close. Only suggestions scoring at least 70 % of
        the best are kept, so a clear answer comes alone.
    """
    text = str(query).strip().lower()
    if not text:
        return []
    words = _words(text)
    ranked = []
    for acronym, name, depth in structures:
        score = _score(text, words, str(acronym), str(name or ""))
        if score >= 2.0:
            ranked.append((-score, depth, len(str(acronym)), str(acronym), str(name or "")))
    ranked.sort()
    if not ranked:
        return []
    best = -ranked[0][0]
    return [Suggestion(acronym, name, -neg) for neg, _, _, acronym, name in ranked[:limit] if -neg >= 0.7 * best]


def structures_of(bg_structures) -> list[tuple[str, str, int]]:
    """``(acronym, name, depth)`` of every structure of a brainglobe-atlasapi ``StructuresDict``."""
    return [(s["acronym"], s.get("name", ""), len(s.get("structure_id_path", ())))
            for s in bg_structures.values()]


def region_hint(query: str, structures: Iterable[tuple[str, str, int]]) -> str:
    """The end of an 'unknown region' message: ``"; did you mean 'TH' (Thalamus)?"`` or ``""``."""
    structures = list(structures)
    text = str(query).strip()
    by_case = [(a, n) for a, n, _ in structures if a.lower() == text.lower()]
    if by_case:
        return f"; acronyms are case-sensitive: did you mean {str(Suggestion(by_case[0][0], by_case[0][1], 10))}?"
    by_name = [a for a, n, _ in structures if n.lower() == text.lower()]
    if by_name:
        return f"; {text!r} is the name of region {by_name[0]!r}, use its acronym"
    found = suggest_regions(text, structures)
    if not found:
        return "; no acronym or region name is close"
    shown = [str(s) for s in found]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return f"; did you mean {listed}?"
