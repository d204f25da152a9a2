import { Rng } from '../random';
import { RecordKeys, TableSource } from '../store/table';
import { parseRecordTime, toIsoMillis } from '../time';
import { JsonObject } from '../types';
import { activitySource } from './activities';
import { timelineKeys } from './contacts';
import { GenerationContext } from './context';
import { COMPANY_ID } from './goals';

/**
 * Call logs (`/v1/callLogs`): string ids, ISO times with milliseconds (as the file's example
 * answers, although its request bodies say `YYYY-MM-DD HH:MM:SS`), no add or update time.
 * A call log is an activity in Pipedrive, so each one points at a generated activity and
 * takes its deal, lead, person and organization from it. Associations a call does not have
 * are left out of the record, as in the file's example.
 */

const OUTCOMES = [
  'connected',
  'connected',
  'no_answer',
  'left_message',
  'left_voicemail',
  'wrong_number',
  'busy',
] as const;

export function callLogIdAt(seed: number, slot: number): string {
  return Rng.for(seed, 'call-log-id', slot).hex(32);
}

function callLogKeys(record: JsonObject): RecordKeys {
  const addTime = parseRecordTime(record.start_time) ?? 0;
  return {
    addTime,
    updateTime: parseRecordTime(record.end_time) ?? addTime,
    flags: 0,
    category: 0,
  };
}

export function callLogSource(context: GenerationContext, meId: number): TableSource<JsonObject> {
  const count = context.sizes.callLogs;
  // The same generator the store uses, so the activity read here is the activity served.
  const activities = activitySource(context, context.refs.deals);
  const activityCount = context.sizes.activities;
  const baseKeys = (slot: number) => timelineKeys(context, 'call-log', slot, count, 0);
  return {
    baseCount: count,
    baseKeys,
    keysOf: callLogKeys,
    idAt: (slot) => callLogIdAt(context.seed, slot),
    generate(slot) {
      const rng = Rng.for(context.seed, 'call-log', slot);
      const activity = activityCount > 0 ? findCallActivity(rng, activities, activityCount) : null;
      const outcome = rng.pick(OUTCOMES);
      const seconds =
        outcome === 'connected' ? rng.int(20, 2400) : outcome.startsWith('left') ? 30 : 0;
      const start = baseKeys(slot).updateTime;
      const millis = rng.int(0, 999);
      // Most calls are the token user's: only those are served, the rest prove the filter.
      const userId = rng.chance(0.7) ? meId : rng.int(1, Math.max(1, context.sizes.users));
      const record: JsonObject = {
        id: callLogIdAt(context.seed, slot),
        activity_id: activity ? activity.id : null,
        subject: activity ? activity.subject : 'Call',
        duration: String(seconds),
        outcome,
        from_phone_number: `+372 600 ${String(1000 + userId).slice(-4)}`,
        to_phone_number: `+372 5${rng.int(100_000, 999_999)}`,
        has_recording: outcome === 'connected' && rng.chance(0.4),
        start_time: toIsoMillis(start, millis),
        end_time: toIsoMillis(start + seconds, millis),
        user_id: userId,
        company_id: COMPANY_ID,
        note: rng.chance(0.5) ? '<p>Asked for a callback next week</p>' : null,
      };
      for (const key of ['person_id', 'org_id', 'deal_id', 'lead_id'] as const) {
        if (activity?.[key] != null) record[key] = activity[key];
      }
      if (record.note === null) delete record.note;
      return record;
    },
  };
}

/** A few draws for an activity of type `call`; any activity if none turns up. */
function findCallActivity(
  rng: Rng,
  activities: TableSource<JsonObject>,
  count: number,
): JsonObject {
  let candidate = activities.generate(rng.int(0, count - 1));
  for (let attempt = 0; attempt < 8 && candidate.type !== 'call'; attempt++) {
    candidate = activities.generate(rng.int(0, count - 1));
  }
  return candidate;
}
