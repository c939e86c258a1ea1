"""Words of a question and of the documents, made comparable. Pure.

One pipeline for both sides (the indexed documents and the question), so that SQLite
FTS5 and PostgreSQL full-text search see the very same terms and answer alike:

1. :func:`normalise`: lower case, umlauts and ß folded (``ü``/``ue`` → ``u``), so
   "Führungszeugnis", "Fuehrungszeugnis" and "Fuhrungszeugnis" are one word;
2. :func:`words`: letters and digits only;
3. :func:`stem`: a light suffix-stripping stemmer for German and English ("Termine",
   "Terminen" → "termin"; "samstags" → "samstag"; "passports" → "passport"). Not Snowball:
   both databases' own stemmers differ and would make the same question rank differently
   on SQLite and PostgreSQL; the stemmed terms are indexed with the databases' plain
   tokenizers instead (``unicode61`` / ``simple``);
4. :data:`SYNONYMS`: colloquial and English words for the official ones, added to the
   question ("Perso" → "personalausweis");
5. :func:`correct`: small typos mended against the vocabulary (difflib ratio).
"""

from __future__ import annotations

import difflib
import re

_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e"})
_DIGRAPHS = re.compile(r"(?<=[b-df-hj-np-tv-z])(ae|oe|ue)")  # not in "teuer", "neue"


def normalise(text: str) -> str:
    text = text.lower().translate(_FOLD)
    return _DIGRAPHS.sub(lambda m: m.group(1)[0], text)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", normalise(text))


# longest first; a stem keeps at least four letters
_SUFFIXES = ("ungen", "innen", "ern", "en", "er", "es", "em", "et", "e", "n", "s")


def stem(word: str) -> str:
    if word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS]


STOPWORDS = frozenset("""
a am an and are as at be bei beim bin can could das dem den der des die do does du ein eine einem
einen einer eines er es for fur from gibt habe haben hat hi hallo i ich ihr im in is it ist
kann konnen man me mein meine meinen mir mit mochte muss my n na oder of on or please
sie sind so the there this that to uber what which how und vom von we wie will wir with
would you your zu zum zur bitte
""".split())

# colloquial or English word (normalised, not stemmed) → the official words it stands for
SYNONYMS: dict[str, tuple[str, ...]] = {
    "perso": ("personalausweis",), "persos": ("personalausweis",),
    "ausweis": ("personalausweis",), "personalausweise": ("personalausweis",),
    "id": ("personalausweis", "identity"), "idcard": ("personalausweis", "identity"),
    "pass": ("reisepass",), "passe": ("reisepass",), "passport": ("reisepass",),
    "passports": ("reisepass",), "kinderreisepass": ("reisepass",),
    "ummeldung": ("wohnsitz",), "ummelden": ("wohnsitz",), "umzug": ("wohnsitz",),
    "umziehen": ("wohnsitz",), "umgezogen": ("wohnsitz",), "anmeldung": ("wohnsitz",),
    "anmelden": ("wohnsitz",), "abmeldung": ("wohnsitz",), "abmelden": ("wohnsitz",),
    "wohnung": ("wohnsitz",), "adressanderung": ("wohnsitz",), "moving": ("wohnsitz",),
    "moved": ("wohnsitz",), "move": ("wohnsitz",), "relocation": ("wohnsitz",),
    "residence": ("wohnsitz",),
    "fuhrungszeugnis": ("fuhrungszeugnis",), "zeugnis": ("fuhrungszeugnis",),
    "strafregister": ("fuhrungszeugnis",), "criminal": ("fuhrungszeugnis",),
    "conduct": ("fuhrungszeugnis",), "background": ("fuhrungszeugnis",),
    "fundburo": ("fundsachen",), "fundamt": ("fundsachen",), "verloren": ("fundsachen",),
    "gefunden": ("fundsachen",), "fundsache": ("fundsachen",), "verlor": ("fundsachen",),
    "lost": ("fundsachen",), "found": ("fundsachen",), "fundsachen": ("fundsachen",),
    "wallet": ("fundsachen",), "geldborse": ("fundsachen",), "portemonnaie": ("fundsachen",),
    "meldebestatigung": ("meldebescheinigung",), "meldezettel": ("meldebescheinigung",),
    "registration": ("meldebescheinigung",), "bescheinigung": ("meldebescheinigung",),
    "abholen": ("abholen",), "abholung": ("abholen",), "collect": ("abholen",),
    "pick": ("abholen",), "pickup": ("abholen",), "abholschein": ("abholen",),
    "fertig": ("abholen",),
}

# synonyms of several words (normalised), replaced before the words are split
PHRASES: dict[str, str] = {
    "id card": "idcard", "identity card": "idcard personalausweis",
    "change of address": "ummeldung", "change my address": "ummeldung",
    "lost and found": "fundburo", "lost property": "fundburo",
    "certificate of conduct": "fuhrungszeugnis", "good conduct": "fuhrungszeugnis",
    "police certificate": "fuhrungszeugnis", "police clearance": "fuhrungszeugnis",
    "certificate of registration": "meldebescheinigung",
    "proof of address": "meldebescheinigung", "proof of residence": "meldebescheinigung",
    "pick up": "pickup", "neuen wohnsitz": "ummeldung", "town hall": "rathaus",
    "get to": "anfahrt", "get there": "anfahrt",
    "polizeiliches fuhrungszeugnis": "fuhrungszeugnis",
}


def apply_phrases(normalised: str) -> str:
    for phrase, replacement in PHRASES.items():
        normalised = re.sub(rf"\b{phrase}\b", replacement, normalised)
    return normalised


def correct(word: str, vocabulary: frozenset[str] | set[str], cutoff: float = 0.8) -> str | None:
    """The vocabulary word closest to ``word`` if it is a small typo away (at least five
    letters; difflib ratio ≥ ``cutoff``); None otherwise."""
    if len(word) < 5 or word.isdigit():
        return None
    found = difflib.get_close_matches(word, vocabulary, n=1, cutoff=cutoff)
    return found[0] if found else None
