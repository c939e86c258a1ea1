"""Answering a question from the data: :func:`answer`.

Every fee, date and time in an answer is read from the tables (services' fees, the
offices' rules, closures and public holidays, the first free start as the booking pages
compute it); none is written in a text here. When the question matches no service,
office or FAQ entry well enough, or two services about equally, the answer says it is
not sure and offers the closest services and the offices' phone numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import force_locale, gettext
from sqlalchemy import select

from booking import i18n
from booking.assistant import index, understanding
from booking.assistant.models import FaqEntry
from booking.db import db
from booking.offices.models import Office, Service
from booking.queueing.opening import opening_periods
from booking.scheduling import next_free, queries

MAX_QUESTION = 300  # characters looked at
SURE_SCORE = 1.5  # a service's score below this is a guess
AMBIGUOUS = 0.75  # the runner-up within this share of the best: not sure
FAQ_SCORE = 2.0
CLOSURE_DAYS = 28  # closures and holidays told with opening hours


@dataclass(frozen=True)
class Link:
    kind: str  # "calendar" (book at an office), "service", "office", "waitlist"
    label: str
    service_id: str | None = None
    office_id: str | None = None
    day: date | None = None


@dataclass
class Answer:
    sure: bool
    intent: str  # fee, documents, hours, next_appointment, address, phone, duration,
    #              service, office, faq, not_sure
    text: list[str]  # paragraphs
    service_id: str | None = None
    office_id: str | None = None
    links: list[Link] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)  # service ids (not sure)
    fee_cents: int | None = None
    next_free_at: datetime | None = None
    faq_id: int | None = None


def answer(question: str, lang: str, now: datetime, office_id: str | None = None) -> Answer:
    """The answer to ``question`` in ``lang`` ("de" or "en"). ``office_id``: where the
    question is asked (a kiosk), the office meant when the question names none."""
    lang = "en" if lang == "en" else "de"
    docs = index.build_documents()
    index.sync(docs)
    known = understanding.vocabulary(w for d in docs for w in d.words)
    asked = understanding.understand(question[:MAX_QUESTION], known)
    found = index.search(asked.terms)
    scored = {d.key: index.score(d, asked.terms, docs) for d in docs if d.key in found}
    faq_terms = dict.fromkeys(asked.all_terms, 1.0)
    for key in index.search(faq_terms):
        if key.startswith("faq:"):
            scored[key] = index.score(next(d for d in docs if d.key == key), faq_terms, docs)
    services = _ranked(scored, "service")
    offices = _ranked(scored, "office")
    faqs = _ranked(scored, "faq")
    with force_locale(lang):
        return _Answerer(lang, now, office_id).compose(asked, services, offices, faqs)


def _ranked(scored: dict[str, float], kind: str) -> list[tuple[str, float]]:
    rows = [(key.split(":", 1)[1], s) for key, s in scored.items()
            if key.startswith(kind + ":") and s > 0]
    return sorted(rows, key=lambda row: -row[1])


class _Answerer:
    def __init__(self, lang: str, now: datetime, here: str | None):
        self.lang, self.now, self.here = lang, now, here

    # ------------------------------------------------------------ deciding

    def compose(self, asked, services, offices, faqs) -> Answer:
        service = self._service(services)
        office = self._office(offices)
        intent = asked.intent
        if faqs and faqs[0][1] >= FAQ_SCORE and (not services or faqs[0][1] > services[0][1]):
            entry = db.session.get(FaqEntry, int(faqs[0][0]))
            if entry is not None and entry.office_id in (None, office and office.id,
                                                         self.here):
                return self.faq(entry)
        if intent in ("hours", "address", "phone") or (service is None and office and not
                                                       _guessing(services)):
            if office is None and service is None and self.here:
                office = db.session.get(Office, self.here)
            return self.about_offices(intent or "office", office, service, asked.weekday)
        if service is None:
            return self.not_sure(services, office)
        if intent == "fee":
            return self.fee(service)
        if intent == "documents":
            return self.documents(service)
        if intent == "duration":
            return self.duration(service)
        if intent == "next_appointment":
            return self.next_appointment(service, office)
        return self.service_info(service)

    def _service(self, services) -> Service | None:
        if not services or services[0][1] < SURE_SCORE:
            return None
        if len(services) > 1 and services[1][1] >= AMBIGUOUS * services[0][1]:
            return None
        return db.session.get(Service, services[0][0])

    def _office(self, offices) -> Office | None:
        if not offices or (len(offices) > 1 and offices[1][1] >= AMBIGUOUS * offices[0][1]):
            return None
        return db.session.get(Office, offices[0][0])

    # ------------------------------------------------------------ about a service

    def _name(self, service: Service) -> str:
        return service.text("name", self.lang)

    def _service_links(self, service: Service) -> list[Link]:
        links = [Link("service", gettext("About %(service)s", service=self._name(service)),
                      service.id)]
        for office in service.offices:
            links.append(Link("calendar", gettext("Book at %(office)s", office=office.name),
                              service.id, office.id))
        return links

    def _answer(self, intent: str, service: Service, text: list[str], **extra) -> Answer:
        return Answer(True, intent, text, service.id, links=self._service_links(service),
                      **extra)

    def fee_sentence(self, service: Service) -> str:
        if service.fee_cents is None:
            return gettext("The fee for %(service)s depends on the case; the office tells "
                           "you.", service=self._name(service))
        if service.fee_cents == 0:
            return gettext("%(service)s is free of charge.", service=self._name(service))
        return gettext("%(service)s costs %(fee)s.", service=self._name(service),
                       fee=i18n.fee(service.fee_cents, self.lang))

    def fee(self, service: Service) -> Answer:
        return self._answer("fee", service, [self.fee_sentence(service)],
                            fee_cents=service.fee_cents)

    def documents(self, service: Service) -> Answer:
        bring = service.text("bring", self.lang)
        text = (gettext("For %(service)s please bring: %(bring)s.", service=self._name(service),
                        bring=bring.rstrip("."))
                if bring else gettext("For %(service)s you need to bring nothing special.",
                                      service=self._name(service)))
        return self._answer("documents", service, [text])

    def duration(self, service: Service) -> Answer:
        return self._answer("duration", service, [gettext(
            "An appointment for %(service)s takes about %(minutes)s minutes.",
            service=self._name(service), minutes=service.duration_minutes)])

    def service_info(self, service: Service) -> Answer:
        text = [service.text("description", self.lang), self.fee_sentence(service)]
        if service.text("bring", self.lang):
            text.append(gettext("Please bring: %(bring)s.",
                                bring=service.text("bring", self.lang).rstrip(".")))
        return self._answer("service", service, [t for t in text if t],
                            fee_cents=service.fee_cents)

    def next_appointment(self, service: Service, office: Office | None) -> Answer:
        offices = list(service.offices)
        text = []
        if office is not None and office not in offices:
            text.append(gettext("%(office)s does not offer %(service)s.", office=office.name,
                                service=self._name(service)))
        elif office is not None:
            offices = [office]
        best = None
        for candidate in offices:
            slot = next_free.first_free_starts(candidate, [service], self.now)[service.id]
            if slot is not None and (best is None or slot.start_at < best[1].start_at):
                best = (candidate, slot)
        if best is None:
            text.append(gettext("There is no free appointment for %(service)s to book online "
                                "at the moment. Join the waitlist, or call the office.",
                                service=self._name(service)))
            result = self._answer("next_appointment", service, text)
            result.links.insert(0, Link("waitlist", gettext("Join the waitlist"), service.id))
            return result
        where, slot = best
        text.append(gettext("The next free appointment for %(service)s is on %(when)s at "
                            "%(office)s.", service=self._name(service), office=where.name,
                            when=i18n.local_datetime(slot.start_at, where.tz, self.lang)))
        result = self._answer("next_appointment", service, text, next_free_at=slot.start_at)
        result.office_id = where.id
        day = slot.start_at.astimezone(where.tz).date()
        result.links.insert(0, Link("calendar", gettext("Book this appointment"), service.id,
                                    where.id, day))
        return result

    # ------------------------------------------------------------ about offices

    def about_offices(self, intent: str, office: Office | None, service: Service | None,
                      weekday: int | None) -> Answer:
        if office is not None:
            offices = [office]
        elif service is not None:
            offices = list(service.offices)
        else:
            offices = list(db.session.scalars(select(Office).order_by(Office.name)))
        text: list[str] = []
        for one in offices:
            if intent == "hours":
                text.extend(self.hours(one, service, weekday))
            elif intent == "phone":
                text.append(gettext("%(office)s: phone %(phone)s, email %(email)s.",
                                    office=one.name, phone=one.phone or "–", email=one.email))
            else:
                text.append(gettext("%(office)s: %(address)s (phone %(phone)s).",
                                    office=one.name, address=one.address,
                                    phone=one.phone or "–"))
        if intent == "office" and office is not None:
            text.extend(self.hours(office, None, None))
        links = [Link("office", one.name, office_id=one.id) for one in offices]
        if service is not None:
            links = [Link("calendar", gettext("Book %(service)s at %(office)s",
                                              service=self._name(service), office=one.name),
                          service.id, one.id) for one in offices] + links
        return Answer(True, intent, text, service and service.id, office and office.id,
                      links)

    def hours(self, office: Office, service: Service | None, weekday: int | None
              ) -> list[str]:
        """The opening hours of the coming seven days (closures and holidays cut out);
        with ``weekday`` that day only; then closures and holidays of the next weeks."""
        tz = office.tz
        today = self.now.astimezone(tz).date()
        rules = queries.get_rules(office)
        if service is None:  # rules for a few services only are not the office's hours
            rules = tuple(rule for rule in rules if not rule.service_ids)
        last = today + timedelta(days=CLOSURE_DAYS)
        closed = queries.get_closures(office, today, last)
        holidays = queries.get_holidays(office.state, today, last)
        periods = opening_periods(rules, closed, holidays, service and service.id, tz,
                                  today, last)
        lines = []
        days = [today + timedelta(days=i) for i in range(7 if weekday is None else 14)]
        if weekday is not None:
            days = [d for d in days if d.isoweekday() == weekday]
        for day in days:
            spans = [(s, e) for s, e in periods if s.astimezone(tz).date() == day]
            name = i18n.local_date(day, self.lang, "EEEE, d. MMMM" if self.lang == "de"
                                   else "EEEE d MMMM")
            if spans:
                hours = ", ".join(gettext("%(start)s to %(end)s",
                                          start=i18n.local_time(s, tz, self.lang),
                                          end=i18n.local_time(e, tz, self.lang))
                                  for s, e in spans)
                lines.append(f"{name}: {hours}")
            else:
                lines.append(f"{name}: {gettext('closed')}")
        text = [gettext("Opening hours of %(office)s: %(hours)s.", office=office.name,
                        hours="; ".join(lines))]
        notes = [gettext("%(day)s: public holiday", day=i18n.local_date(d, self.lang, "long"))
                 for d in sorted(holidays)]
        notes += [gettext("%(period)s: closed", period=i18n.period(s, e, tz, self.lang))
                  for s, e in closed]
        if notes:
            text.append(gettext("Closed in the coming weeks: %(list)s.", list="; ".join(notes)))
        return text

    # ------------------------------------------------------------ FAQ, not sure

    def faq(self, entry: FaqEntry) -> Answer:
        links = [Link("office", db.session.get(Office, entry.office_id).name,
                      office_id=entry.office_id)] if entry.office_id else []
        return Answer(True, "faq", [entry.text("answer", self.lang)], None, entry.office_id,
                      links, faq_id=entry.id)

    def not_sure(self, services, office: Office | None) -> Answer:
        suggestions = [db.session.get(Service, key) for key, _ in services[:3]]
        if not suggestions:
            suggestions = list(db.session.scalars(
                select(Service).order_by(Service.position, Service.id).limit(3)))
        if office is None and self.here:
            office = db.session.get(Office, self.here)
        offices = [office] if office else list(
            db.session.scalars(select(Office).order_by(Office.name)))
        phones = "; ".join(f"{o.name}: {o.phone}" for o in offices if o.phone)
        text = [gettext("I am not sure I understood your question. Did you mean one of "
                        "these services?")]
        if phones:
            text.append(gettext("You can also call us: %(phones)s.", phones=phones))
        links = [Link("service", self._name(s), s.id) for s in suggestions]
        return Answer(False, "not_sure", text, None, office and office.id, links,
                      [s.id for s in suggestions])


def _guessing(services) -> bool:
    """Some service matched, though not well enough."""
    return bool(services) and services[0][1] >= SURE_SCORE
