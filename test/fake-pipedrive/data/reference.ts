import { JsonObject } from '../types';

/**
 * Lists that are the same in every Pipedrive account and have no write endpoints: the lead
 * sources (the file's own list, "not final") and the note fields.
 */

export const LEAD_SOURCES = [
  'Manually created',
  'Deal',
  'Web forms',
  'Prospector',
  'Leadbooster',
  'Live chat',
  'Import',
  'Website visitors',
  'Workflow automation',
  'API',
];

const YES_NO = [
  { id: 1, label: 'Yes' },
  { id: 0, label: 'No' },
];

const NOTE_FIELD_SPECS: Array<[key: string, name: string, type: string]> = [
  ['content', 'Content', 'text'],
  ['user_id', 'Author', 'user'],
  ['deal_id', 'Deal', 'deal'],
  ['person_id', 'Person', 'people'],
  ['org_id', 'Organization', 'org'],
  ['lead_id', 'Lead', 'lead'],
  ['project_id', 'Project', 'project'],
  ['add_time', 'Add time', 'date'],
  ['update_time', 'Update time', 'date'],
  ['pinned_to_deal_flag', 'Note is pinned to deal', 'enum'],
  ['pinned_to_person_flag', 'Note is pinned to person', 'enum'],
  ['pinned_to_organization_flag', 'Note is pinned to organization', 'enum'],
  ['pinned_to_lead_flag', 'Note is pinned to lead', 'enum'],
  ['pinned_to_project_flag', 'Note is pinned to project', 'enum'],
];

export const NOTE_FIELDS: JsonObject[] = NOTE_FIELD_SPECS.map(([key, name, type], index) => ({
  id: index + 1,
  key,
  name,
  field_type: type,
  active_flag: true,
  // Only the content and the pins are edited by hand; the rest Pipedrive sets itself.
  edit_flag: key !== 'content' && type === 'enum',
  bulk_edit_allowed: true,
  mandatory_flag: key === 'content',
  options: type === 'enum' ? YES_NO : null,
}));
