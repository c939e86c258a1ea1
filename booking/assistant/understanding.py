"""What a question asks: its search terms, its intent (simple keyword rules) and a weekday.
Pure: the vocabulary of the documents is an argument."""

from __future__ import annotations

from dataclasses import dataclass

from booking.assistant import language

# intent → keywords (normalised words; a question's word matches if it or its stem does)
INTENTS: dict[str, frozenset[str]] = {
    "fee": frozenset("""kosten kostet kost gebuhr gebuhren preis teuer bezahlen zahlen euro
        kostenlos gratis fee fees cost costs price pay charge expensive much""".split()),
    "documents": frozenset("""mitbringen mitnehmen dabei brauche brauch benotige benotigt
        unterlagen dokumente dokument papiere nachweise bring need needed documents papers
        required require take""".split()),
    "hours": frozenset("""offnungszeiten offnungszeit geoffnet offen auf aufhat zu geschlossen
        oeffnungszeiten sprechzeiten open opening hours closed close""".split()),
    "next_appointment": frozenset("""termin termine nachste nachster nachsten frei freie freier
        freien frueh fruhester fruheste buchen appointment appointments slot slots available
        next earliest book booking""".split()),
    "address": frozenset("""adresse anschrift wo anfahrt hinkommen komme weg bus bahn strasse
        finde liegt where address located directions location find""".split()),
    "phone": frozenset("""telefon telefonnummer nummer anrufen erreichen phone call telephone
        number""".split()),
    "duration": frozenset("""dauert dauer lange long takes""".split()),
}
# when two intents have as many keywords, the first of these wins
PRIORITY = ("next_appointment", "fee", "documents", "duration", "phone", "address", "hours")

WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate((
        "montag monday mo", "dienstag tuesday di", "mittwoch wednesday mi",
        "donnerstag thursday do", "freitag friday fr", "samstag sonnabend saturday sa",
        "sonntag sunday so"), start=1):
    for _name in _names.split():
        WEEKDAYS[_name] = _number
_WEEKDAY_WORDS = {w: n for w, n in WEEKDAYS.items() if len(w) > 2}

INTENTS = {intent: frozenset(language.normalise(w) for w in words)
           for intent, words in INTENTS.items()}
_INTENT_STEMS = {intent: {language.stem(w) for w in words} | set(words)
                 for intent, words in INTENTS.items()}
KEYWORDS = frozenset(w for words in INTENTS.values() for w in words)


MAX_WORDS = 40  # a question longer than this is cut (typo correction costs per word)


@dataclass(frozen=True)
class Question:
    terms: dict[str, float]  # stemmed search term → weight
    all_terms: frozenset[str]  # with the intents' keywords (for the FAQ)
    intent: str | None
    weekday: int | None  # ISO
    corrected: tuple[tuple[str, str], ...]  # (typed, understood)


def vocabulary(document_words) -> frozenset[str]:
    """Every word the assistant knows: the documents', synonyms, keywords, weekdays."""
    return frozenset(document_words) | frozenset(language.SYNONYMS) | KEYWORDS | frozenset(
        _WEEKDAY_WORDS) | {w + "s" for w in _WEEKDAY_WORDS}


def _intent_of(word: str) -> list[str]:
    stemmed = language.stem(word)
    return [intent for intent, stems in _INTENT_STEMS.items()
            if word in stems or stemmed in stems]


def understand(text: str, known: frozenset[str]) -> Question:
    normalised = language.apply_phrases(language.normalise(text))
    terms: dict[str, float] = {}
    hits: dict[str, float] = {}
    weekday = None
    corrected = []
    every = set()
    for word in language.words(normalised)[:MAX_WORDS]:
        if word not in known and word not in language.STOPWORDS:
            better = language.correct(word, known)
            if better is not None:
                corrected.append((word, better))
                word = better
        day = _WEEKDAY_WORDS.get(word) or _WEEKDAY_WORDS.get(word.removesuffix("s"))
        if day:
            weekday = day
            hits["hours"] = hits.get("hours", 0) + 0.5  # less than a keyword
            continue
        intents = _intent_of(word)
        for intent in intents:
            hits[intent] = hits.get(intent, 0) + 1
        if word not in language.STOPWORDS:
            every.add(language.stem(word))
        if word in language.STOPWORDS or (intents and word not in language.SYNONYMS):
            continue
        synonyms = language.SYNONYMS.get(word, ())
        own = language.stem(word)
        terms[own] = max(terms.get(own, 0.0), 0.5 if synonyms else 1.0)
        for synonym in synonyms:
            terms[language.stem(synonym)] = 1.0
    intent = None
    if hits:
        best = max(hits.values())
        intent = next(i for i in PRIORITY if hits.get(i) == best)
    return Question(terms, frozenset(every | set(terms)), intent, weekday, tuple(corrected))
