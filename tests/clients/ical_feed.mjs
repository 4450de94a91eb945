// Prints, as JSON, what ical.js reads from every VEVENT of each .ics file named on the
// command line: {"<file>": {"<uid>": {"start", "end", "sequence", "status"}}}, the
// instants in UTC. ical.js is the engine of Thunderbird and Nextcloud; the feed tests
// compare its reading with what the feed should say.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const result = {};
for (const file of process.argv.slice(2)) {
  const calendar = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  const zones = calendar.getAllSubcomponents("vtimezone");
  for (const vtimezone of zones) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
  }
  const events = {};
  for (const vevent of calendar.getAllSubcomponents("vevent")) {
    const event = new ICAL.Event(vevent);
    events[event.uid] = {
      start: event.startDate.toJSDate().toISOString(),
      end: event.endDate.toJSDate().toISOString(),
      sequence: event.sequence,
      status: vevent.getFirstPropertyValue("status"),
    };
  }
  result[file] = events;
  for (const vtimezone of zones) {
    ICAL.TimezoneService.remove(vtimezone.getFirstPropertyValue("tzid"));
  }
}
process.stdout.write(JSON.stringify(result));
