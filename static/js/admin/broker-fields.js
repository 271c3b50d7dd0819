// Which sections of the admin's broker-link form to show for the chosen broker (pure:
// no DOM, unit-tested in tests/js/broker-fields.test.mjs). The form has one section per
// broker (fieldset classes `broker-fields broker-<name>`, set in streaming/links/admin.py); the
// server reads only the chosen broker's, so hiding the others is a matter of clarity.

/** The class every per-broker section carries. */
export const SECTION_CLASS = 'broker-fields';
const PREFIX = 'broker-';

/** The broker a section belongs to, from its class names (`broker-<name>`), or null. */
export function sectionBroker(classNames) {
  for (const name of classNames) {
    if (name !== SECTION_CLASS && name.startsWith(PREFIX) && name.length > PREFIX.length) {
      return name.slice(PREFIX.length);
    }
  }
  return null;
}

/**
 * Whether a section is shown while `selected` is the chosen broker. Nothing chosen
 * (or a section of no known broker): shown, as the page is without the script.
 */
export function sectionShown(selected, broker) {
  return !selected || !broker || broker === selected;
}

/** For sections given by their class names, in order: which are shown. */
export function shownSections(selected, sections) {
  return sections.map((classNames) => sectionShown(selected, sectionBroker(classNames)));
}
