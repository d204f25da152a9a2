import { TransientError } from '../errors';
import { toTimestamp } from '../normalize';
import { listRecords, PAGE_LIMIT, type PipedriveClient, type Query } from '../pipedrive/client';
import { endpointLabel } from '../pipedrive/costs';
import { type Row } from './base';

/**
 * Reads a v1 list sorted by `update_time ASC` from `updated_since` (inclusive), paging by
 * moving `updated_since` to the newest update_time of the page instead of by offset.
 *
 * Offset paging over a list sorted by update_time loses records: a record updated while the
 * pages are read moves to the end and every later record shifts one place back, so the one
 * at the next offset is never seen (and the cursor has already passed it). Moving
 * `updated_since` forward makes every page start where the last one ended whatever changes
 * meanwhile. The records of the boundary second that were already yielded are not yielded
 * again; a page made of one second only advances by offset within that second.
 */
export async function* readV1ByUpdateTime(
  client: PipedriveClient,
  path: string,
  since: string | undefined,
  scope: string,
  extra: Query = {},
): AsyncGenerator<Row[]> {
  const endpoint = endpointLabel('v1', path);
  let cursor = since;
  let start = 0;
  /** Ids yielded so far whose update_time is the `cursor` second. */
  let seenAtCursor = new Set<unknown>();
  for (;;) {
    const body = await client.get(
      'v1',
      path,
      { ...extra, sort: 'update_time ASC', updated_since: cursor, start, limit: PAGE_LIMIT },
      scope,
    );
    const records = listRecords(body, endpoint);
    const pagination = body.additional_data?.pagination ?? body.additional_data;
    const more = Boolean(pagination?.more_items_in_collection);
    if (more && records.length === 0) {
      throw new TransientError(
        `Pipedrive's GET ${endpoint} announced more items after an empty page (updated_since=${cursor}, start=${start}).`,
      );
    }
    const times = records.map((record) => toTimestamp(record.update_time));
    const fresh =
      seenAtCursor.size === 0
        ? records
        : records.filter((record, i) => !(times[i] === cursor && seenAtCursor.has(record.id)));
    yield fresh;
    if (!more) return;

    let newest: string | undefined;
    for (const time of times) if (time && (!newest || time > newest)) newest = time;
    if (newest && (!cursor || newest > cursor)) {
      cursor = newest;
      start = 0;
      seenAtCursor = new Set();
    } else {
      // The whole page is one second: step through that second by offset.
      start += records.length;
    }
    records.forEach((record, i) => {
      if (times[i] === cursor) seenAtCursor.add(record.id);
    });
  }
}
