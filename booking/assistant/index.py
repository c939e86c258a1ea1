"""The assistant's documents (services, offices, FAQ entries) and their full-text index.

The document set is small (a town has a few dozen services and offices), so the
documents are built from the tables on every question; the index table
``assistant_documents`` holds their stemmed terms (booking.assistant.language) and is
rebuilt in the asking request's transaction when the documents' fingerprint changed
(a service, an office or a FAQ entry was edited since). No trigger on the tables, no
job: an edit is searchable with the next question.

- SQLite: an FTS5 virtual table (``unicode61`` tokenizer) made by migration 0020;
  ``MATCH 'a OR b'``.
- PostgreSQL: a plain table with a GIN index on ``to_tsvector('simple', …)``;
  ``@@ to_tsquery('simple', 'a | b')``. The ``simple`` configuration, not ``german``:
  the terms are stemmed already, the same way for both databases, so both find the
  same documents and the measured share of right answers holds for both.

The database finds the documents that share a term with the question; their ranking is
Python's (:func:`score`), identical on both databases.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, text

from booking.assistant import language
from booking.assistant.models import FaqEntry
from booking.db import db
from booking.offices.models import Office, Service

FINGERPRINT_KEY = "#fingerprint"


@dataclass(frozen=True)
class Document:
    key: str  # "service:reisepass", "office:nord", "faq:3"
    name: tuple[str, ...]  # stemmed terms of the name (service name, office name, question)
    body: tuple[str, ...]  # stemmed terms of the rest (description, address, answer)
    words: frozenset[str] = field(default=frozenset())  # normalised words (typo vocabulary)

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def ref(self) -> str:
        return self.key.split(":", 1)[1]


def _document(key: str, name_texts: Iterable[str], body_texts: Iterable[str]) -> Document:
    name_texts, body_texts = list(name_texts), list(body_texts)
    names = [language.apply_phrases(language.normalise(t)) for t in name_texts]
    bodies = [language.apply_phrases(language.normalise(t)) for t in body_texts]
    vocabulary = {w for t in name_texts + body_texts for w in language.words(t)}
    return Document(key, tuple(s for t in names for s in language.stems(t)),
                    tuple(s for t in bodies for s in language.stems(t)), frozenset(vocabulary))


def build_documents() -> list[Document]:
    """Every service, office and FAQ entry as a document, in both languages."""
    docs = []
    for service in db.session.scalars(select(Service).order_by(Service.position, Service.id)):
        docs.append(_document(f"service:{service.id}", [service.name_de, service.name_en],
                              [service.description_de, service.description_en]))
    for office in db.session.scalars(select(Office).order_by(Office.name, Office.id)):
        docs.append(_document(f"office:{office.id}", [office.name, office.id],
                              [office.address]))
    for entry in db.session.scalars(select(FaqEntry).order_by(FaqEntry.id)):
        docs.append(_document(f"faq:{entry.id}", [entry.question_de, entry.question_en],
                              []))
    return docs


def _fingerprint(docs: list[Document]) -> str:
    data = [[d.key, d.name, d.body] for d in docs]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def sync(docs: list[Document]) -> bool:
    """Rebuild the index table if ``docs`` differ from what it holds; True if it did.
    In the caller's transaction (flush only)."""
    session = db.session
    fingerprint = _fingerprint(docs)
    read = text("select body from assistant_documents where doc_key = :key")
    if session.execute(read, {"key": FINGERPRINT_KEY}).scalar() == fingerprint:
        return False
    if session.get_bind().dialect.name == "postgresql":
        # one rebuild at a time; who waited sees the other's committed rows
        session.execute(text("select pg_advisory_xact_lock(hashtext('assistant_documents'))"))
        if session.execute(read, {"key": FINGERPRINT_KEY}).scalar() == fingerprint:
            return False
    session.execute(text("delete from assistant_documents"))
    rows = [{"key": d.key, "name": " ".join(d.name), "body": " ".join(d.body)} for d in docs]
    rows.append({"key": FINGERPRINT_KEY, "name": "", "body": fingerprint})
    session.execute(text("insert into assistant_documents (doc_key, name, body) "
                         "values (:key, :name, :body)"), rows)
    return True


def search(terms: Iterable[str]) -> set[str]:
    """Keys of the documents that contain at least one of the (stemmed) ``terms``."""
    terms = sorted({t for t in terms if t.isalnum() and t.isascii()})
    if not terms:
        return set()
    if db.session.get_bind().dialect.name == "postgresql":
        query = text("select doc_key from assistant_documents where doc_key <> :fp and "
                     "to_tsvector('simple', name || ' ' || body) @@ to_tsquery('simple', :q)")
        q = " | ".join(terms)
    else:
        query = text("select doc_key from assistant_documents where doc_key <> :fp and "
                     "assistant_documents match :q")
        q = " OR ".join(f'"{t}"' for t in terms)
    return set(db.session.execute(query, {"q": q, "fp": FINGERPRINT_KEY}).scalars())


def score(doc: Document, terms: dict[str, float], docs: list[Document]) -> float:
    """How well ``doc`` matches weighted question ``terms``: name hits count three times
    body hits, rarer terms (among documents of the same kind) more; times the share of
    the question's terms (by weight) the document has."""
    same_kind = [d for d in docs if d.kind == doc.kind]
    total = matched = 0.0
    for term, weight in terms.items():
        in_name, in_body = term in doc.name, term in doc.body
        if not (in_name or in_body):
            continue
        matched += weight
        frequency = sum(1 for d in same_kind if term in d.name or term in d.body)
        rarity = math.log(1 + len(same_kind) / frequency)
        total += weight * rarity * (3 if in_name else 1)
    return total * matched / sum(terms.values()) if matched else 0.0
