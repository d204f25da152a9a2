import { LEAD_SOURCES, NOTE_FIELDS } from '../data/reference';
import { Endpoint, ok, v1ArrayPage } from './common';

/** Fixed lists Pipedrive defines for every account: lead sources and the note fields. */
export const referenceEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/leadSources',
    cost: 2,
    handle: () => ok(LEAD_SOURCES.map((name) => ({ name }))),
  },
  {
    version: 'v1',
    path: '/noteFields',
    cost: 20,
    // Unpaged per the file, yet its example carries the usual pagination block.
    handle: (context) => v1ArrayPage(context, NOTE_FIELDS, false),
  },
];
