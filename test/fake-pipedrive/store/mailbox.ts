import { FakeClock } from '../clock';
import { GenerationContext } from '../data/context';
import {
  buildMessage,
  generateThreadMessages,
  MailMessageKind,
  MailOwner,
  MailParty,
  personParty,
  presentThread,
} from '../data/mailbox';
import { Rng } from '../random';
import { JsonObject } from '../types';
import type { FakeStore } from './store';
import { RecordFlag } from './table';

/**
 * The mail messages of the threads in `mailThreads`: generated from the thread's row until a
 * test changes them, then kept whole per thread (like deal products). Every message change
 * stamps its thread's update_time, which is how a client can tell which threads to re-read.
 */
export class Mailbox {
  private readonly overlay = new Map<number, JsonObject[]>();
  private readonly threadSlotOfAdded = new Map<number, number>();
  private nextMessageId: number;
  private readonly perThread: number;

  constructor(
    private readonly context: GenerationContext,
    private readonly owner: MailOwner,
    private readonly clock: FakeClock,
  ) {
    this.perThread = Math.max(1, context.sizes.mailMessagesPerThreadMax);
    this.nextMessageId = context.sizes.mailThreads * this.perThread + 1;
  }

  /** Messages of a thread, oldest first; undefined for unknown (or purged) threads. */
  messagesOf(store: FakeStore, threadId: number): JsonObject[] | undefined {
    const found = store.find('mailThreads', threadId);
    return found ? this.messagesAt(store, found.slot) : undefined;
  }

  present(store: FakeStore, thread: JsonObject): JsonObject {
    const slot = store.table('mailThreads').slotOf(thread.id as number);
    const messages = slot === undefined ? [] : this.messagesAt(store, slot);
    const deal = thread.deal_id != null ? store.find('deals', thread.deal_id as number) : undefined;
    return presentThread(thread, messages, deal ? (deal.record.status as string) : null);
  }

  /** Threads of one folder, newest message first (Pipedrive's order), deleted ones left out. */
  folder(store: FakeStore, folder: string): JsonObject[] {
    const table = store.table('mailThreads');
    const threads: JsonObject[] = [];
    for (let slot = 0; slot < table.size; slot++) {
      if (table.flags(slot) & (RecordFlag.purged | RecordFlag.deleted)) continue;
      const thread = this.present(store, table.record(slot));
      if ((thread.folders as string[]).includes(folder)) threads.push(thread);
    }
    const timeOf = (thread: JsonObject) => String(thread.last_message_timestamp ?? '');
    return threads.sort(
      (left, right) =>
        timeOf(right).localeCompare(timeOf(left)) || (right.id as number) - (left.id as number),
    );
  }

  addMessage(
    store: FakeStore,
    threadId: number,
    kind: MailMessageKind,
    partial: JsonObject,
  ): JsonObject {
    const found = store.find('mailThreads', threadId);
    if (!found) throw new Error(`No mailThreads record with id ${threadId}`);
    const messages = this.messagesAt(store, found.slot);
    const now = this.clock.nowSeconds();
    const message: JsonObject = {
      ...buildMessage(this.context, this.owner, found.record, {
        id: this.nextMessageId++,
        kind,
        time: now,
        stored: now,
        counterpart: this.counterpartOf(messages),
        reply: messages.length > 0,
        rng: Rng.for(this.context.seed, 'added-mail-message', this.nextMessageId),
      }),
      // Mail that just arrived is unread, and so is its thread.
      ...(kind === 'received' ? { read_flag: 0 } : {}),
      ...partial,
    };
    this.overlay.set(found.slot, [...messages, message]);
    this.threadSlotOfAdded.set(message.id as number, found.slot);
    this.touch(store, threadId, kind === 'received' ? { read_flag: 0 } : {});
    return structuredClone(message);
  }

  updateMessage(store: FakeStore, messageId: number, patch: JsonObject): JsonObject {
    const slot =
      this.threadSlotOfAdded.get(messageId) ?? Math.floor((messageId - 1) / this.perThread);
    const threads = store.table('mailThreads');
    const messages = slot < threads.size ? this.messagesAt(store, slot) : [];
    const index = messages.findIndex((message) => message.id === messageId);
    if (index < 0) throw new Error(`No mail message with id ${messageId}`);
    const message = {
      ...messages[index],
      ...patch,
      id: messageId,
      update_time: store.stamp('isoMillis'),
    };
    const copy = [...messages];
    copy[index] = message;
    this.overlay.set(slot, copy);
    this.touch(store, threads.idAt(slot) as number);
    return structuredClone(message);
  }

  private messagesAt(store: FakeStore, slot: number): JsonObject[] {
    const overlay = this.overlay.get(slot);
    if (overlay) return overlay;
    // Threads inserted by tests have no generated history: they start empty.
    if (slot >= this.context.sizes.mailThreads) return [];
    const table = store.table('mailThreads');
    return generateThreadMessages(this.context, this.owner, slot, table.baseRecord(slot));
  }

  private counterpartOf(messages: JsonObject[]): MailParty {
    for (const message of messages) {
      for (const party of [...(message.from as JsonObject[]), ...(message.to as JsonObject[])]) {
        if (party.linked_person_id != null)
          return personParty(this.context.seed, party.linked_person_id as number);
      }
    }
    return personParty(this.context.seed, 1);
  }

  /** A message change is a change of its thread: the thread's update_time moves too. */
  private touch(store: FakeStore, threadId: number, patch: JsonObject = {}): void {
    const thread = store.find('mailThreads', threadId)?.record;
    store.update('mailThreads', threadId, { version: Number(thread?.version ?? 0) + 1, ...patch });
  }
}
