// Parse an iCalendar object from stdin with ical.js (Mozilla's parser, used by Thunderbird)
// and print what a calendar client would see, as JSON:
//   {method, uid, sequence, status, dtstart, dtend, summary, organizer, attendees,
//    has_alarm, ..., events: [...every VEVENT...]}
// Times are UTC instants (event.startDate.toJSDate().toISOString()). VTIMEZONEs in the
// object are registered first, as clients do; a TZID without one is read as floating
// (local time of this process — run it with TZ=UTC to make that visible).
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const text = Buffer.concat(chunks).toString("utf8");

const root = new ICAL.Component(ICAL.parse(text));
if (root.name !== "vcalendar") throw new Error(`not a VCALENDAR: ${root.name}`);
for (const vtz of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtz);
}

function address(prop) {
  if (!prop) return null;
  const value = String(prop.getFirstValue());
  const param = (name) => {
    const v = prop.getParameter(name);
    return v === undefined || v === null ? null : String(v);
  };
  return {
    value,
    email: value.replace(/^mailto:/i, ""),
    cn: param("cn"),
    rsvp: param("rsvp"),
    partstat: param("partstat"),
    role: param("role"),
  };
}

function instant(time) {
  return time ? time.toJSDate().toISOString() : null;
}

function text_of(vevent, name) {
  const v = vevent.getFirstPropertyValue(name);
  return v === null || v === undefined ? null : String(v);
}

const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  const dtstart = vevent.getFirstProperty("dtstart");
  return {
    uid: event.uid,
    sequence: vevent.hasProperty("sequence") ? event.sequence : null,
    status: text_of(vevent, "status"),
    dtstamp: instant(vevent.getFirstPropertyValue("dtstamp")),
    dtstart: instant(event.startDate),
    dtend: instant(event.endDate),
    tzid: dtstart ? (dtstart.getParameter("tzid") || null) : null,
    is_floating: event.startDate ? event.startDate.zone === ICAL.Timezone.localTimezone : null,
    summary: event.summary,
    location: event.location,
    description: event.description,
    url: text_of(vevent, "url"),
    transp: text_of(vevent, "transp"),
    organizer: address(vevent.getFirstProperty("organizer")),
    attendees: vevent.getAllProperties("attendee").map(address),
    has_alarm: vevent.getAllSubcomponents("valarm").length > 0,
    alarms: vevent.getAllSubcomponents("valarm").map((a) => ({
      action: text_of(a, "action"),
      trigger: text_of(a, "trigger"),
      description: text_of(a, "description"),
    })),
  };
});

const first = events[0] || {};
const out = {
  method: root.getFirstPropertyValue("method"),
  prodid: root.getFirstPropertyValue("prodid"),
  version: root.getFirstPropertyValue("version"),
  ...first,
  timezones: root.getAllSubcomponents("vtimezone").map((tz) => tz.getFirstPropertyValue("tzid")),
  events,
};
process.stdout.write(JSON.stringify(out));
