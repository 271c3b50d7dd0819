// The admin's broker-link add page: show only the chosen broker's section (its secrets,
// Alpaca's API choice, its help) as the broker select changes. Without this script every
// section is shown, each titled with its broker, and the server still reads only the
// chosen broker's inputs. The inputs of a hidden section are disabled, so a value typed
// there before switching broker is not even sent.
import { SECTION_CLASS, sectionBroker, sectionShown } from './broker-fields.js';

function apply(select, sections) {
  for (const section of sections) {
    const shown = sectionShown(select.value, sectionBroker(section.classList));
    section.hidden = !shown;
    for (const input of section.querySelectorAll('input, select, textarea')) input.disabled = !shown;
  }
}

function wire(doc) {
  const select = doc.getElementById('id_broker');
  const sections = Array.from(doc.querySelectorAll(`fieldset.${SECTION_CLASS}`));
  if (!select || select.tagName !== 'SELECT' || sections.length === 0) return; // the change page
  select.addEventListener('change', () => apply(select, sections));
  apply(select, sections);
}

wire(document);
