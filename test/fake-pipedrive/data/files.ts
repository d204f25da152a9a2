import { Rng } from '../random';
import { RecordFlag, RecordKeys, TableSource } from '../store/table';
import { SECONDS_PER_DAY, toV1Time } from '../time';
import { JsonObject, Sizes } from '../types';
import { keysFromTimes } from './account';
import { timelineKeys } from './contacts';
import { GenerationContext } from './context';

/**
 * Files (`/v1/files`) and filters (`/v1/filters`), v1 shapes. A file is attached to one item;
 * the `*_name` fields are joined when the file is served, so they follow renames.
 */

const DAY = SECONDS_PER_DAY;

const FILE_KINDS: Array<[stem: string, extension: string, fileType: string]> = [
  ['proposal', 'pdf', 'pdf'],
  ['signed_contract', 'pdf', 'pdf'],
  ['price_sheet', 'xlsx', 'xls'],
  ['meeting_notes', 'docx', 'doc'],
  ['whiteboard', 'jpg', 'img'],
  ['logo', 'png', 'img'],
  ['requirements', 'txt', 'text'],
];

/** Which item a generated file hangs on, with its share of files. */
const ATTACHMENTS: Array<[item: string, share: number]> = [
  ['deal', 0.4],
  ['person', 0.2],
  ['organization', 0.15],
  ['activity', 0.1],
  ['lead', 0.1],
  ['product', 0.05],
];

function isDeletedFileSlot(slot: number): boolean {
  return slot % 12 === 11;
}

export function fileSource(context: GenerationContext): TableSource<JsonObject> {
  const count = context.sizes.files;
  const baseKeys = (slot: number): RecordKeys => {
    const keys = timelineKeys(context, 'file', slot, count, 90);
    return { ...keys, flags: isDeletedFileSlot(slot) ? RecordFlag.deleted : 0 };
  };
  return {
    baseCount: count,
    baseKeys,
    keysOf: (record) => keysFromTimes(record),
    generate(slot) {
      const id = slot + 1;
      const keys = baseKeys(slot);
      const rng = Rng.for(context.seed, 'file', slot);
      const { sizes, refs } = context;
      const attachment = pickShare(rng);
      const pick = (item: string, total: number) =>
        attachment === item && total > 0 ? rng.int(1, total) : null;
      const [stem, extension, fileType] = rng.pick(FILE_KINDS);
      const remote = rng.chance(0.15) && ['deal', 'person', 'organization'].includes(attachment);
      return {
        id,
        user_id: rng.int(1, sizes.users),
        deal_id: pick('deal', refs.deals),
        person_id: pick('person', sizes.persons),
        org_id: pick('organization', sizes.organizations),
        product_id: pick('product', sizes.products),
        activity_id: pick('activity', sizes.activities),
        lead_id:
          attachment === 'lead' && refs.leads > 0
            ? refs.leadIdAt(rng.int(0, refs.leads - 1))
            : null,
        log_id: null,
        add_time: toV1Time(keys.addTime),
        update_time: toV1Time(keys.updateTime),
        file_name: `${stem}_${id}_${rng.hex(12)}.${extension}`,
        file_type: remote ? 'gdoc' : fileType,
        file_size: remote ? 0 : rng.int(2_000, 8_000_000),
        active_flag: !isDeletedFileSlot(slot),
        inline_flag: false,
        // Uploaded files live in Pipedrive's storage; the rest are Google Drive links.
        remote_location: remote ? 'googledrive' : 's3',
        remote_id: remote ? rng.hex(33) : `files/${rng.hex(16)}.${extension}`,
        cid: '',
        s3_bucket: '',
        mail_message_id: '',
        mail_template_id: '',
        url: `https://${context.companyDomain}.pipedrive.com/v1/files/${id}/download`,
        name: `${stem.replace(/_/g, ' ')} ${id}.${extension}`,
        description: rng.chance(0.3) ? 'Latest version, shared with the customer' : '',
      };
    },
  };
}

function pickShare(rng: Rng): string {
  let roll = rng.next();
  for (const [item, share] of ATTACHMENTS) {
    if (roll < share) return item;
    roll -= share;
  }
  return ATTACHMENTS[0][0];
}

export const FILTER_TYPES = [
  'deals',
  'leads',
  'org',
  'people',
  'products',
  'activity',
  'projects',
] as const;

const FILTER_NAMES: Record<(typeof FILTER_TYPES)[number], string[]> = {
  deals: ['All open deals', 'Won this quarter', 'Rotting deals'],
  leads: ['Unseen leads', 'Hot leads'],
  org: ['Key accounts', 'Organizations without deals'],
  people: ['Decision makers', 'Newsletter subscribers'],
  products: ['Active products'],
  activity: ['Overdue calls', 'Meetings this week'],
  projects: ['Running projects'],
};

export function buildFilters(seed: number, sizes: Sizes, createdAt: number): JsonObject[] {
  const filters: JsonObject[] = [];
  for (let id = 1; id <= sizes.filters; id++) {
    const rng = Rng.for(seed, 'filter', id);
    const type = FILTER_TYPES[(id - 1) % FILTER_TYPES.length];
    const names = FILTER_NAMES[type];
    const name = names[Math.floor((id - 1) / FILTER_TYPES.length) % names.length];
    const added = createdAt - rng.int(30 * DAY, 700 * DAY);
    filters.push({
      id,
      name: id > FILTER_TYPES.length * 3 ? `${name} ${id}` : name,
      active_flag: true,
      type,
      temporary_flag: null,
      user_id: rng.int(1, sizes.users),
      add_time: toV1Time(added),
      update_time: toV1Time(added + rng.int(0, 29 * DAY)),
      visible_to: rng.pick([1, 3, 5, 7]),
      custom_view_id: rng.int(1, 40),
    });
  }
  return filters;
}
