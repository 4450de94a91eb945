// Prints, as JSON, the UTC instants ical.js reads for DTSTART and DTEND of the first
// VEVENT of each .ics file named on the command line: {"<file>": ["<start>", "<end>"]}.
// ical.js is the engine of Thunderbird and Nextcloud; the tests compare its reading
// with the expected instants.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const result = {};
for (const file of process.argv.slice(2)) {
  const calendar = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
  }
  const event = new ICAL.Event(calendar.getFirstSubcomponent("vevent"));
  result[file] = [event.startDate, event.endDate].map((t) => t.toJSDate().toISOString());
  for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.remove(vtimezone.getFirstPropertyValue("tzid"));
  }
}
process.stdout.write(JSON.stringify(result));
