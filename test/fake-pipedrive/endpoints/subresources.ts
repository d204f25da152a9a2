import { FollowedTable } from '../data/subresources';
import { badRequest, notFound } from '../http/errors';
import { offsetPage } from '../store/query';
import { FakeStore } from '../store/store';
import { parseRecordTime, toV1Time } from '../time';
import { JsonObject } from '../types';
import {
  cursorPageOfRecords,
  Endpoint,
  EndpointContext,
  idList,
  ok,
  v1Limit,
  v1Start,
  v2Sort,
} from './common';
import { idCursorSort, pathId } from './id-cursor';

/**
 * Per-parent lists: v2 followers of deals, persons, organizations and products, v1 deal
 * participants, v2 deal installments (batched by `deal_ids`, like deal products) and v2
 * product variations.
 */

const FOLLOWED: Array<{ table: FollowedTable; label: string }> = [
  { table: 'deals', label: 'Deal' },
  { table: 'persons', label: 'Person' },
  { table: 'organizations', label: 'Organization' },
  { table: 'products', label: 'Product' },
];

/** The company id `/v1/users/me` reports: v1 persons carry it. */
const COMPANY_ID = 7_654_321;

function followersEndpoint(table: FollowedTable, label: string): Endpoint {
  return {
    version: 'v2',
    path: `/${table}/{id}/followers`,
    cost: 10,
    handle(context) {
      const followers = context.store.subresources.followersOf(table, pathId(context.params));
      if (!followers) throw notFound(`${label} not found`);
      // A user follows a record once: the user id orders and keys the cursor.
      const keyed = followers.map((follower) => ({ ...follower, id: follower.user_id }));
      const page = cursorPageOfRecords(keyed, idCursorSort(context.query));
      return ok(
        page.data.map(({ id: _id, ...follower }) => follower),
        { next_cursor: page.nextCursor },
      );
    },
  };
}

// ---- v1 deal participants --------------------------------------------------------------------------

function v1Time(value: unknown): string | null {
  const seconds = parseRecordTime(value);
  return seconds === null ? null : toV1Time(seconds);
}

function userObject(user: JsonObject): JsonObject {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    has_pic: user.icon_url ? 1 : 0,
    pic_hash: null,
    active_flag: user.active_flag,
  };
}

const peopleCounts = new WeakMap<FakeStore, { version: number; counts: Map<number, number> }>();

/** Live persons per organization, recounted only after the persons change. */
function peopleCount(store: FakeStore, orgId: number): number {
  const version = store.table('persons').version;
  let cached = peopleCounts.get(store);
  if (!cached || cached.version !== version) {
    const counts = new Map<number, number>();
    for (const person of store.iterate('persons')) {
      if (person.is_deleted === true || typeof person.org_id !== 'number') continue;
      counts.set(person.org_id, (counts.get(person.org_id) ?? 0) + 1);
    }
    cached = { version, counts };
    peopleCounts.set(store, cached);
  }
  return cached.counts.get(orgId) ?? 0;
}

function organizationObject(context: EndpointContext, org: JsonObject): JsonObject {
  return {
    name: org.name,
    people_count: peopleCount(context.store, org.id as number),
    owner_id: org.owner_id,
    address: (org.address as JsonObject | null)?.formatted_address ?? null,
    active_flag: org.is_deleted !== true,
    cc_email: `${context.controls.companyDomain}@pipedrivemail.com`,
  };
}

/** Contacts in v1 shape: `[{label, value, primary}]`. */
function contacts(value: unknown): JsonObject[] {
  return ((value ?? []) as JsonObject[]).map((entry) => ({
    label: entry.label,
    value: entry.value,
    primary: entry.primary,
  }));
}

/** The v1 person (from today's v2 record), as the participant's `person` shows it. */
function v1Person(context: EndpointContext, person: JsonObject): JsonObject {
  const store = context.store;
  const owner = store.find('users', person.owner_id as number)?.record;
  const org =
    typeof person.org_id === 'number' ? store.find('organizations', person.org_id)?.record : null;
  const labels = (person.label_ids ?? []) as number[];
  return {
    id: person.id,
    company_id: COMPANY_ID,
    owner_id: owner ? { ...userObject(owner), value: owner.id } : null,
    org_id: org ? { ...organizationObject(context, org), value: org.id } : null,
    name: person.name,
    first_name: person.first_name,
    last_name: person.last_name,
    active_flag: person.is_deleted !== true,
    phone: contacts(person.phones),
    email: contacts(person.emails),
    first_char: String(person.name ?? '')
      .charAt(0)
      .toLowerCase(),
    add_time: v1Time(person.add_time),
    update_time: v1Time(person.update_time),
    visible_to: String(person.visible_to),
    picture_id: null,
    label: labels[0] ?? null,
    label_ids: labels,
    org_name: org?.name ?? null,
    owner_name: owner?.name ?? null,
    cc_email: `${context.controls.companyDomain}@pipedrivemail.com`,
  };
}

/**
 * One participant as v1 answers it: the relation's own id and time, the person twice (a short
 * `person_id` object and the whole `person`), the user who added it and the deal. Persons and
 * users are joined when read, so edits to them show up here, like Pipedrive's joins.
 */
function presentParticipant(
  context: EndpointContext,
  row: JsonObject,
  deal: JsonObject,
  related: RelatedObjects,
): JsonObject {
  const store = context.store;
  const person = store.find('persons', row.person_id as number)?.record ?? { id: row.person_id };
  const adder = store.find('users', row.added_by_user_id as number)?.record;
  const summary = {
    active_flag: person.is_deleted !== true,
    name: person.name,
    email: contacts(person.emails),
    phone: contacts(person.phones),
    owner_id: person.owner_id,
  };
  related.person[String(person.id)] = { ...summary, id: person.id };
  if (adder) related.user[String(adder.id)] = userObject(adder);
  const full = v1Person(context, person);
  const org = full.org_id as JsonObject | null;
  if (org) {
    const { value, ...rest } = org;
    related.organization[String(value)] = { id: value, ...rest };
  }
  return {
    id: row.id,
    person_id: { ...summary, value: person.id },
    add_time: row.add_time,
    active_flag: true,
    related_item_data: { deal_id: deal.id, title: deal.title },
    person: full,
    added_by_user_id: adder ? { ...userObject(adder), value: adder.id } : null,
    related_item_type: 'deal',
    related_item_id: deal.id,
  };
}

interface RelatedObjects {
  user: JsonObject;
  person: JsonObject;
  organization: JsonObject;
}

const participantsEndpoint: Endpoint = {
  version: 'v1',
  path: '/deals/{id}/participants',
  cost: 10,
  handle(context) {
    const dealId = pathId(context.params);
    const rows = context.store.subresources.dealParticipantsOf(dealId);
    const deal = context.store.find('deals', dealId)?.record;
    if (!rows || !deal) throw notFound('Deal not found');
    const ordered = [...rows].sort((left, right) => (left.id as number) - (right.id as number));
    const page = offsetPage(ordered, v1Start(context.query), v1Limit(context.query));
    const related: RelatedObjects = { user: {}, person: {}, organization: {} };
    const data = page.items.map((row) => presentParticipant(context, row, deal, related));
    // An old v1 list: an empty page is `data: null`, like the flow and notes.
    const result = ok(data.length === 0 ? null : data, { pagination: page.pagination });
    result.body.related_objects = related;
    return result;
  },
};

// ---- v2 installments and variations -------------------------------------------------------------------

const installmentsEndpoint: Endpoint = {
  version: 'v2',
  path: '/deals/installments',
  cost: 10,
  handle(context) {
    const dealIds = idList(context.query, 'deal_ids');
    if (!dealIds || dealIds.length === 0) throw badRequest(`Parameter 'deal_ids' is required`);
    const sort = v2Sort(context.query, ['id', 'billing_date', 'deal_id']);
    const installments = [...new Set(dealIds)].flatMap((id) =>
      context.store.subresources.installmentsOf(id),
    );
    const page = cursorPageOfRecords(installments, sort);
    // The file's schema has no additional_data, but the operation documents cursor paging.
    return ok(page.data, { next_cursor: page.nextCursor });
  },
};

const variationsEndpoint: Endpoint = {
  version: 'v2',
  path: '/products/{id}/variations',
  cost: 10,
  handle(context) {
    const variations = context.store.subresources.variationsOf(pathId(context.params));
    if (!variations) throw notFound('Product not found');
    const page = cursorPageOfRecords(variations, idCursorSort(context.query));
    return ok(page.data, { next_cursor: page.nextCursor });
  },
};

export const subresourceEndpoints: Endpoint[] = [
  ...FOLLOWED.map(({ table, label }) => followersEndpoint(table, label)),
  participantsEndpoint,
  installmentsEndpoint,
  variationsEndpoint,
];
