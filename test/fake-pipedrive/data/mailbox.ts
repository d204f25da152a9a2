import { Rng } from '../random';
import { RecordFlag, RecordKeys, TableSource } from '../store/table';
import { parseRecordTime, toIsoMillis } from '../time';
import { JsonObject } from '../types';
import { keysFromTimes } from './account';
import { organizationName, personEmail, personName, timelineKeys } from './contacts';
import { GenerationContext } from './context';
import { DEAL_TOPICS } from './words';

/**
 * The token user's mailbox (v1 shapes, ISO times with milliseconds). A thread stores only what
 * is its own (subject, flags, links); everything about its messages (parties, folders,
 * snippets, counts, message times) is derived from the messages whenever the thread is shown,
 * so adding a message moves the thread between folders exactly like Pipedrive does.
 */

export type MailMessageKind = 'received' | 'sent' | 'draft';

export interface MailOwner {
  id: number;
  name: string;
  email: string;
}

export interface MailParty {
  partyId: number;
  name: string;
  email: string;
  personId: number | null;
}

const MAIL_SNIPPETS = [
  'Thanks for the call today, as promised here is the summary.',
  'Could you send the updated quote before Friday?',
  'Attached is the signed order form.',
  'We need one more week for the legal review.',
  'Looking forward to the demo — see you on Tuesday!',
  'Quick reminder about the open invoice.',
];

/** The single mail connection of the token user (Pipedrive allows one per user). */
export function mailAccountId(seed: number): string {
  return Rng.for(seed, 'mail-account').hex(24);
}

export function mailThreadKeys(record: JsonObject): RecordKeys {
  const keys = keysFromTimes(record);
  return { ...keys, flags: record.deleted_flag === 1 ? RecordFlag.deleted : 0 };
}

export function mailThreadSource(context: GenerationContext, owner: MailOwner) {
  const count = context.sizes.mailThreads;
  const baseKeys = (slot: number) => timelineKeys(context, 'mail-thread', slot, count, 20);
  const source: TableSource<JsonObject> = {
    baseCount: count,
    baseKeys,
    keysOf: mailThreadKeys,
    generate(slot) {
      const keys = baseKeys(slot);
      const rng = Rng.for(context.seed, 'mail-thread', slot);
      const { refs } = context;
      const dealId = refs.deals > 0 && rng.chance(0.4) ? rng.int(1, refs.deals) : null;
      const leadId =
        dealId === null && refs.leads > 0 && rng.chance(0.15)
          ? refs.leadIdAt(rng.int(0, refs.leads - 1))
          : null;
      const organization =
        context.sizes.organizations > 0
          ? organizationName(context.seed, rng.int(1, context.sizes.organizations))
          : 'Inbound';
      return {
        id: slot + 1,
        account_id: mailAccountId(context.seed),
        user_id: owner.id,
        subject: `${organization}: ${rng.pick(DEAL_TOPICS)}`,
        read_flag: rng.chance(0.7) ? 1 : 0,
        mail_tracking_status: null,
        deleted_flag: 0,
        synced_flag: 1,
        smart_bcc_flag: 0,
        mail_link_tracking_enabled_flag: rng.chance(0.3) ? 1 : 0,
        archived_flag: rng.chance(0.15) ? 1 : 0,
        shared_flag: rng.chance(0.5) ? 1 : 0,
        external_deleted_flag: 0,
        version: rng.int(1, 12),
        add_time: toIsoMillis(keys.addTime, 0),
        update_time: toIsoMillis(keys.updateTime, 0),
        deal_id: dealId,
        lead_id: leadId,
      };
    },
  };
  return source;
}

export function ownerParty(owner: MailOwner): MailParty {
  return { partyId: owner.id, name: owner.name, email: owner.email, personId: null };
}

export function personParty(seed: number, personId: number): MailParty {
  const { first, last } = personName(seed, personId);
  return {
    partyId: 100_000 + personId,
    name: `${first} ${last}`,
    email: personEmail(seed, personId),
    personId,
  };
}

/** The generated messages of a thread, oldest first, between its add and update time. */
export function generateThreadMessages(
  context: GenerationContext,
  owner: MailOwner,
  slot: number,
  thread: JsonObject,
): JsonObject[] {
  const perThread = Math.max(1, context.sizes.mailMessagesPerThreadMax);
  const rng = Rng.for(context.seed, 'mail-messages', slot);
  const total = rng.int(1, perThread);
  const counterpart = personParty(context.seed, rng.int(1, Math.max(1, context.sizes.persons)));
  const first = parseRecordTime(thread.add_time) ?? 0;
  const last = parseRecordTime(thread.update_time) ?? first;
  const messages: JsonObject[] = [];
  let kind: MailMessageKind = rng.chance(0.6) ? 'received' : 'sent';
  for (let index = 0; index < total; index++) {
    if (index > 0) {
      // Replies alternate more often than not; an unfinished reply is a draft.
      const flip = rng.chance(0.7);
      kind = kind === 'received' ? (flip ? 'sent' : 'received') : flip ? 'received' : 'sent';
      if (index === total - 1 && rng.chance(0.2)) kind = 'draft';
    }
    const time = first + Math.floor((index * (last - first)) / total);
    messages.push(
      buildMessage(context, owner, thread, {
        id: slot * perThread + index + 1,
        kind,
        time,
        stored: Math.min(last, time + rng.int(5, 90)),
        counterpart,
        reply: index > 0,
        rng,
      }),
    );
  }
  return messages;
}

export interface MessageSpec {
  id: number;
  kind: MailMessageKind;
  /** When the message was sent or received (epoch seconds). */
  time: number;
  /** When Pipedrive stored it (add and update time). */
  stored: number;
  counterpart: MailParty;
  reply: boolean;
  rng: Rng;
}

export function buildMessage(
  context: GenerationContext,
  owner: MailOwner,
  thread: JsonObject,
  spec: MessageSpec,
): JsonObject {
  const { rng, kind, id } = spec;
  const me = ownerParty(owner);
  const [sender, recipient] = kind === 'received' ? [spec.counterpart, me] : [me, spec.counterpart];
  const subject = spec.reply ? `Re: ${String(thread.subject)}` : String(thread.subject);
  const snippet = rng.pick(MAIL_SNIPPETS);
  const attachments = rng.chance(0.2);
  const inline = rng.chance(0.1);
  const party = (member: MailParty, index: number): JsonObject => ({
    id: member.partyId,
    name: member.name,
    latest_sent: false,
    email_address: member.email,
    message_time: spec.time * 1000,
    linked_person_id: member.personId,
    linked_person_name: member.personId === null ? null : member.name,
    mail_message_party_id: id * 10 + index,
    linked_organization_id: null,
  });
  return {
    id,
    from: [party(sender, 0)],
    to: [party(recipient, 1)],
    cc: [],
    bcc: [],
    body_url: `https://mail-bodies.example.com/${context.companyDomain}/${id}.html`,
    account_id: thread.account_id,
    user_id: owner.id,
    mail_thread_id: thread.id,
    subject,
    snippet,
    mail_tracking_status: kind === 'sent' && rng.chance(0.5) ? 'opened' : null,
    mail_link_tracking_enabled_flag: thread.mail_link_tracking_enabled_flag,
    read_flag: kind === 'received' ? thread.read_flag : 1,
    draft:
      kind === 'draft'
        ? JSON.stringify({ subject, to: [recipient.email], body: `<p>${snippet}</p>` })
        : null,
    draft_flag: kind === 'draft' ? 1 : 0,
    synced_flag: kind === 'draft' ? 0 : 1,
    deleted_flag: 0,
    has_body_flag: 1,
    sent_flag: kind === 'sent' ? 1 : 0,
    sent_from_pipedrive_flag: kind === 'sent' && rng.chance(0.5) ? 1 : 0,
    smart_bcc_flag: 0,
    message_time: toIsoMillis(spec.time, 0),
    add_time: toIsoMillis(spec.stored, 0),
    update_time: toIsoMillis(spec.stored, 0),
    has_attachments_flag: attachments || inline ? 1 : 0,
    has_inline_attachments_flag: inline ? 1 : 0,
    has_real_attachments_flag: attachments ? 1 : 0,
  };
}

export function messageKind(message: JsonObject): MailMessageKind {
  if (message.draft_flag === 1) return 'draft';
  return message.sent_flag === 1 ? 'sent' : 'received';
}

/** Every party once (by address), with the newest message time and `latest_sent` marked. */
function mergeParties(lists: JsonObject[][], latestSender: unknown): JsonObject[] {
  const byAddress = new Map<unknown, JsonObject>();
  for (const parties of lists) {
    for (const party of parties) byAddress.set(party.email_address, { ...party });
  }
  return [...byAddress.values()].map((party) => ({
    ...party,
    latest_sent: party.email_address === latestSender,
  }));
}

const boolFlag = (value: boolean) => (value ? 1 : 0);

/** A stored thread plus what its messages say, in the order of the file's example. */
export function presentThread(
  thread: JsonObject,
  messages: JsonObject[],
  dealStatus: string | null,
): JsonObject {
  const byKind = (kind: MailMessageKind) => messages.filter((m) => messageKind(m) === kind);
  const drafts = byKind('draft');
  const sent = byKind('sent');
  const received = byKind('received');
  const exchanged = messages.filter((message) => messageKind(message) !== 'draft');
  const lastOf = (list: JsonObject[]) => list[list.length - 1];
  const lastExchanged = lastOf(exchanged);
  const latestSender = (lastExchanged?.from as JsonObject[] | undefined)?.[0]?.email_address;
  const archived = thread.archived_flag === 1;
  const folders = [
    ...(received.length > 0 && !archived ? ['inbox'] : []),
    ...(drafts.length > 0 ? ['drafts'] : []),
    ...(sent.length > 0 ? ['sent'] : []),
    ...(archived ? ['archive'] : []),
  ];
  const any = (flag: string) => boolFlag(messages.some((message) => message[flag] === 1));
  const timeOf = (message: JsonObject | undefined) =>
    message ? (message.message_time as string) : null;
  return {
    id: thread.id,
    parties: {
      to: mergeParties(
        exchanged.map((m) => m.to as JsonObject[]),
        latestSender,
      ),
      from: mergeParties(
        exchanged.map((m) => m.from as JsonObject[]),
        latestSender,
      ),
    },
    drafts_parties: drafts.flatMap((m) => m.to as JsonObject[]),
    folders,
    account_id: thread.account_id,
    user_id: thread.user_id,
    version: thread.version,
    subject: thread.subject,
    snippet: (lastExchanged ?? lastOf(drafts))?.snippet ?? '',
    snippet_draft: lastOf(drafts)?.snippet ?? null,
    snippet_sent: lastOf(sent)?.snippet ?? '',
    message_count: messages.length,
    has_attachments_flag: any('has_attachments_flag'),
    has_inline_attachments_flag: any('has_inline_attachments_flag'),
    has_real_attachments_flag: any('has_real_attachments_flag'),
    has_draft_flag: boolFlag(drafts.length > 0),
    has_sent_flag: boolFlag(sent.length > 0),
    archived_flag: thread.archived_flag,
    deleted_flag: thread.deleted_flag,
    shared_flag: thread.shared_flag,
    synced_flag: thread.synced_flag,
    external_deleted_flag: thread.external_deleted_flag,
    smart_bcc_flag: thread.smart_bcc_flag,
    first_message_to_me_flag: boolFlag(
      exchanged.length > 0 && messageKind(exchanged[0]) === 'received',
    ),
    mail_link_tracking_enabled_flag: thread.mail_link_tracking_enabled_flag,
    mail_tracking_status: thread.mail_tracking_status,
    read_flag: thread.read_flag,
    last_message_timestamp: timeOf(lastOf(messages)),
    first_message_timestamp: timeOf(messages[0]),
    last_message_sent_timestamp: timeOf(lastOf(sent)),
    last_message_received_timestamp: timeOf(lastOf(received)),
    add_time: thread.add_time,
    update_time: thread.update_time,
    deal_id: thread.deal_id,
    deal_status: dealStatus,
    lead_id: thread.lead_id,
    all_messages_sent_flag: boolFlag(exchanged.length > 0 && received.length === 0),
  };
}
