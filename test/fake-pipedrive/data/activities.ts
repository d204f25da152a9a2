import { Rng } from '../random';
import { TableSource } from '../store/table';
import { SECONDS_PER_DAY, toDateOnly, toTimeOfDay, toV1Time, toV2Time } from '../time';
import { JsonObject } from '../types';
import { keysFromTimes } from './account';
import { activityAttendees, activityParticipants } from './activity-people';
import { timelineKeys } from './contacts';
import { GenerationContext } from './context';
import { addressObject } from './fields';
import { ACTIVITY_SUBJECTS, NOTE_SNIPPETS } from './words';

/** Activities (v2 shape) and notes (v1 shape, without the joined sub-objects). */

const DAY = SECONDS_PER_DAY;

export function activitySource(
  context: GenerationContext,
  totalDeals: number,
): TableSource<JsonObject> {
  const count = context.sizes.activities;
  const baseKeys = (slot: number) => timelineKeys(context, 'activity', slot, count, 60);
  return {
    baseCount: count,
    baseKeys,
    keysOf: (record) => keysFromTimes(record),
    generate(slot) {
      const id = slot + 1;
      const keys = baseKeys(slot);
      const rng = Rng.for(context.seed, 'activity', slot);
      const dealId = rng.chance(0.6) && totalDeals > 0 ? rng.int(1, totalDeals) : null;
      const { leads } = context.refs;
      const leadId =
        dealId === null && leads > 0 && rng.chance(0.15)
          ? context.refs.leadIdAt(rng.int(0, leads - 1))
          : null;
      const personId = rng.chance(0.6) ? rng.int(1, Math.max(1, context.sizes.persons)) : null;
      const due = keys.addTime + rng.int(-2, 30) * DAY;
      const done = due < keys.updateTime && rng.chance(0.8);
      const timed = rng.chance(0.6);
      const participants = activityParticipants(context, slot, personId);
      const activity: JsonObject = {
        id,
        subject: rng.pick(ACTIVITY_SUBJECTS),
        type: rng.pick(context.activityTypeKeys),
        owner_id: rng.int(1, context.sizes.users),
        creator_user_id: rng.int(1, context.sizes.users),
        is_deleted: false,
        add_time: toV2Time(keys.addTime),
        update_time: toV2Time(keys.updateTime),
        deal_id: dealId,
        lead_id: leadId,
        person_id: personId,
        org_id: rng.chance(0.5) ? rng.int(1, Math.max(1, context.sizes.organizations)) : null,
        project_id: null,
        due_date: toDateOnly(due),
        due_time: timed ? toTimeOfDay(rng.int(8, 17) * 3600 + rng.pick([0, 1800])) : null,
        duration: timed ? toTimeOfDay(rng.pick([900, 1800, 3600])) : null,
        busy: rng.chance(0.5),
        done,
        marked_as_done_time: done ? toV2Time(Math.max(keys.addTime, keys.updateTime - 60)) : null,
        location: rng.chance(0.1) ? addressObject(rng) : null,
        participants,
        // Kept on the record, served only with include_fields=attendees.
        attendees: [],
        conference_meeting_client: null,
        conference_meeting_url: null,
        conference_meeting_id: null,
        public_description: rng.chance(0.2) ? 'Agenda: pricing and rollout plan' : null,
        priority: null,
        note: rng.chance(0.3) ? `<p>${rng.pick(NOTE_SNIPPETS)}</p>` : null,
      };
      activity.attendees = activityAttendees(
        context,
        slot,
        activity.owner_id as number,
        participants,
      );
      return activity;
    },
  };
}

export function noteSource(
  context: GenerationContext,
  totalDeals: number,
): TableSource<JsonObject> {
  const count = context.sizes.notes;
  const baseKeys = (slot: number) => timelineKeys(context, 'note', slot, count, 30);
  return {
    baseCount: count,
    baseKeys,
    keysOf: (record) => keysFromTimes(record),
    generate(slot) {
      const id = slot + 1;
      const keys = baseKeys(slot);
      const rng = Rng.for(context.seed, 'note', slot);
      const dealId = totalDeals > 0 && rng.chance(0.55) ? rng.int(1, totalDeals) : null;
      const personId = rng.chance(0.4) ? rng.int(1, Math.max(1, context.sizes.persons)) : null;
      const orgId = rng.chance(0.4) ? rng.int(1, Math.max(1, context.sizes.organizations)) : null;
      const { leads } = context.refs;
      const leadId =
        leads > 0 && dealId === null && rng.chance(0.1)
          ? context.refs.leadIdAt(rng.int(0, leads - 1))
          : null;
      const userId = rng.int(1, context.sizes.users);
      return {
        id,
        user_id: userId,
        deal_id: dealId,
        person_id: personId,
        org_id: orgId,
        lead_id: leadId,
        project_id: null,
        content: rng.pick(NOTE_SNIPPETS),
        add_time: toV1Time(keys.addTime),
        update_time: toV1Time(keys.updateTime),
        active_flag: true,
        pinned_to_deal_flag: dealId !== null && rng.chance(0.1),
        pinned_to_person_flag: personId !== null && rng.chance(0.05),
        pinned_to_organization_flag: orgId !== null && rng.chance(0.05),
        pinned_to_lead_flag: leadId !== null && rng.chance(0.2),
        pinned_to_project_flag: false,
        last_update_user_id: rng.chance(0.3) ? rng.int(1, context.sizes.users) : null,
      };
    },
  };
}
