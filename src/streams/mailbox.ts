import { listRecords } from '../pipedrive/client';
import {
  maxOf,
  type PassRequest,
  type PassSpec,
  type RootDeclaration,
  type RootStream,
  UPDATE_TIME,
} from './base';
import type { PerParentDeclaration } from './fanout';
import { PassPages } from './readers';

/** Every folder /mailbox/mailThreads lists; a thread is in each folder its messages are in. */
const MAIL_FOLDERS = ['inbox', 'drafts', 'sent', 'archive'];

/**
 * GET /v1/mailbox/mailThreads?folder=… for the four folders: the token user's mailbox only
 * (Pipedrive shows no one else's mail). The list has no time filter and is sorted by the
 * newest message, so every sync reads all four folders and emits the threads changed since
 * the cursor, each once; the position moves only when every folder has been read.
 */
async function readMailFolders(
  stream: RootStream,
  pass: PassSpec,
  request: PassRequest,
): Promise<void> {
  const pages = new PassPages(request);
  const since = request.since;
  /** The update_time of each thread handed over, so another folder's copy is left out. */
  const handed = new Map<string, unknown>();
  let newest: string | undefined;
  for (const folder of MAIL_FOLDERS) {
    for await (const page of stream.client.paginateV1(
      pass.path,
      { ...pass.query, folder },
      stream.name,
      { paged: pass.paged, limit: pass.limit },
    )) {
      if (request.stopped()) return;
      const rows = stream.shapeRows(page.records, pass).filter((row) => {
        const id = String(row.id);
        const time = row[UPDATE_TIME];
        const seen = handed.get(id);
        // A thread that changed between two folders' reads comes again, newer.
        if (
          handed.has(id) &&
          (typeof time !== 'string' || (typeof seen === 'string' && seen >= time))
        ) {
          return false;
        }
        handed.set(id, time);
        return !since || typeof time !== 'string' || time >= since;
      });
      newest = maxOf(rows, UPDATE_TIME, newest);
      await pages.hand(rows, page.listedAfterMs);
    }
  }
  pages.end(newest);
}

export const mailThreads: RootDeclaration = {
  name: 'mail_threads',
  primaryKey: 'id',
  cursor: UPDATE_TIME,
  // The OpenAPI file gives the list start/limit but no paging block: without one it has ended.
  passes: [{ key: UPDATE_TIME, reader: 'v1', path: '/mailbox/mailThreads', paged: 'optional' }],
  read: readMailFolders,
};

/**
 * GET /v1/mailbox/mailThreads/{id}/mailMessages (unpaged) for the threads that changed: a new
 * or changed message moves its thread's update_time.
 */
export const mailMessages: PerParentDeclaration = {
  name: 'mail_messages',
  parent: 'mail_threads',
  primaryKey: 'id',
  cursor: UPDATE_TIME,
  tokensPerParent: 20,
  async read(thread, stream) {
    const body = await stream.client.get(
      'v1',
      `/mailbox/mailThreads/${String(thread.id)}/mailMessages`,
      {},
      stream.name,
    );
    return listRecords(body, '/v1/mailbox/mailThreads/{id}/mailMessages').map((message) => ({
      ...message,
      mail_thread_id: message.mail_thread_id ?? thread.id,
    }));
  },
};
