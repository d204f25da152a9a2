import { badRequest, notFound } from '../http/errors';
import { Endpoint, ok, oneOf } from './common';
import { cappedArrayPage } from './paging';

/**
 * The token user's mailbox. `/mailbox/mailThreads` lists one folder (required), newest
 * message first, offset paged; a thread shows up in every folder its messages are in, so a
 * client reading all four folders sees some threads more than once. Deleted threads are in
 * no folder. `/mailbox/mailThreads/{id}/mailMessages` lists a thread's messages, unpaged.
 */

export const MAIL_FOLDERS = ['inbox', 'drafts', 'sent', 'archive'] as const;

export const mailboxEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/mailbox/mailThreads',
    cost: 20,
    handle(context) {
      if ((context.query.folder ?? '') === '') throw badRequest(`Parameter 'folder' is required`);
      const folder = oneOf(context.query, 'folder', MAIL_FOLDERS, 'inbox');
      const threads = context.store.mailbox.folder(context.store, folder);
      return cappedArrayPage(context, threads, { emptyAsNull: true });
    },
  },
  {
    version: 'v1',
    path: '/mailbox/mailThreads/{id}/mailMessages',
    cost: 20,
    handle(context) {
      const id = Number(context.params.id);
      const messages = Number.isInteger(id)
        ? context.store.mailbox.messagesOf(context.store, id)
        : undefined;
      if (!messages) throw notFound('Mail thread not found');
      return ok(messages);
    },
  },
];
