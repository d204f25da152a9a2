import { Rng } from '../random';
import { JsonObject } from '../types';
import { userIdentity } from './account';
import { personEmail, personName } from './contacts';
import { GenerationContext } from './context';
import { FIRST_NAMES, LAST_NAMES } from './words';

/**
 * Who takes part in an activity (v2 shape): `participants` are CRM persons, the first being the
 * activity's `person_id`; `attendees` are calendar invitees (users, persons or outsiders) and
 * only come with `include_fields=attendees`. Each has its own RNG, so the activity's other
 * fields stay what they were before these lists existed.
 */

const ATTENDEE_STATUSES = ['accepted', 'accepted', 'tentative', 'declined', 'needsAction'];

export function activityParticipants(
  context: GenerationContext,
  slot: number,
  personId: number | null,
): JsonObject[] {
  // Pipedrive's `person_id` of an activity is its primary participant: no person, nobody.
  if (personId === null) return [];
  const rng = Rng.for(context.seed, 'activity-participants', slot);
  const persons = context.sizes.persons;
  const extra = Math.min(
    persons - 1,
    rng.int(0, Math.max(0, context.sizes.activityParticipantsMax - 1)),
  );
  const participants: JsonObject[] = [{ person_id: personId, primary: true }];
  const seen = new Set([personId]);
  for (let index = 0; index < extra; index++) {
    let candidate = rng.int(1, persons);
    while (seen.has(candidate)) candidate = (candidate % persons) + 1;
    seen.add(candidate);
    participants.push({ person_id: candidate, primary: false });
  }
  return participants;
}

export function activityAttendees(
  context: GenerationContext,
  slot: number,
  ownerId: number,
  participants: JsonObject[],
): JsonObject[] {
  const max = context.sizes.activityAttendeesMax;
  const rng = Rng.for(context.seed, 'activity-attendees', slot);
  // Only activities synced with a calendar have invitees.
  if (max <= 0 || !rng.chance(0.35)) return [];
  const count = rng.int(1, max);
  const owner = userIdentity(ownerId, context.companyDomain);
  const attendees: JsonObject[] = [
    {
      email: owner.email,
      name: owner.name,
      status: 'accepted',
      is_organizer: true,
      person_id: null,
      user_id: ownerId,
    },
  ];
  for (const participant of participants) {
    if (attendees.length >= count) break;
    const personId = participant.person_id as number;
    const { first, last } = personName(context.seed, personId);
    attendees.push({
      email: personEmail(context.seed, personId),
      name: `${first} ${last}`,
      status: rng.pick(ATTENDEE_STATUSES),
      is_organizer: false,
      person_id: personId,
      user_id: null,
    });
  }
  // Invitees without a person record: an assistant, a partner, a consultant.
  while (attendees.length < count) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    attendees.push({
      email: `guest.${slot + 1}.${attendees.length}@partner.example.net`,
      name: `${first} ${last}`,
      status: rng.pick(ATTENDEE_STATUSES),
      is_organizer: false,
      person_id: null,
      user_id: null,
    });
  }
  return attendees;
}
