import {
  type ArrayChildDeclaration,
  type RootDeclaration,
  type Row,
  uniqueBy,
  v1Table,
  v2Table,
} from './base';

/** GET /api/v2/organizations, incremental on update_time. */
export const organizations: RootDeclaration = v2Table({
  name: 'organizations',
  primaryKey: 'id',
  path: '/organizations',
  customFields: 'organization',
});

/**
 * GET /api/v2/activities, incremental on update_time. Attendees come only when asked for, at
 * no extra cost.
 */
export const activities: RootDeclaration = v2Table({
  name: 'activities',
  primaryKey: 'id',
  path: '/activities',
  query: { include_fields: 'attendees' },
  customFields: 'activity',
  shape(row) {
    // Seed name for v2's `busy`.
    row.busy_flag = row.busy ?? null;
    // A seed column the v2 API no longer returns: kept, null.
    row.last_notification_time = row.last_notification_time ?? null;
    return row;
  },
});

/** One row per person in an activity's `participants`: key (activity_id, person_id). */
export const activityParticipants: ArrayChildDeclaration = {
  name: 'activity_participants',
  parent: 'activities',
  primaryKey: ['activity_id', 'person_id'],
  cursor: 'activity_update_time',
  rows: (activity: Row) =>
    uniqueBy(activity.participants, 'person_id').map((participant) => ({
      activity_id: activity.id,
      person_id: participant.person_id,
      primary: participant.primary ?? null,
    })),
};

/**
 * One row per calendar invitee in an activity's `attendees` (users, persons and outsiders
 * alike): key (activity_id, email), the one field every attendee has.
 */
export const activityAttendees: ArrayChildDeclaration = {
  name: 'activity_attendees',
  parent: 'activities',
  primaryKey: ['activity_id', 'email'],
  cursor: 'activity_update_time',
  rows: (activity: Row) =>
    uniqueBy(activity.attendees, 'email').map((attendee) => ({
      activity_id: activity.id,
      email: attendee.email,
      name: attendee.name ?? null,
      status: attendee.status ?? null,
      is_organizer: attendee.is_organizer ?? null,
      person_id: attendee.person_id ?? null,
      user_id: attendee.user_id ?? null,
    })),
};

/** GET /api/v2/pipelines (full refresh: the endpoint has no updated_since). */
export const pipelines: RootDeclaration = {
  name: 'pipelines',
  primaryKey: 'id',
  passes: [
    {
      key: 'update_time',
      reader: 'v2',
      path: '/pipelines',
      timeFilters: false,
      sortsByUpdateTime: false,
    },
  ],
  shape(row) {
    // Seed names for the same facts under v2 names.
    row.active = typeof row.is_deleted === 'boolean' ? !row.is_deleted : null;
    row.deal_probability = row.is_deal_probability_enabled ?? null;
    return row;
  },
};

/** GET /api/v2/stages (full refresh: the endpoint has no updated_since). */
export const stages: RootDeclaration = {
  name: 'stages',
  primaryKey: 'id',
  passes: [
    {
      key: 'update_time',
      reader: 'v2',
      path: '/stages',
      timeFilters: false,
      sortsByUpdateTime: false,
    },
  ],
};

/** GET /v1/users: every user of the company (one answer, no paging). */
export const users = v1Table({ name: 'users', primaryKey: 'id', path: '/users', paged: false });

/** GET /v1/activityTypes (one answer, no paging). */
export const activityTypes = v1Table({
  name: 'activity_types',
  primaryKey: 'id',
  path: '/activityTypes',
  paged: false,
});

/** GET /v1/currencies: every currency the account supports (one answer, no paging). */
export const currencies = v1Table({
  name: 'currencies',
  primaryKey: 'id',
  path: '/currencies',
  paged: false,
});

/** GET /v1/leadLabels (one answer, no paging). */
export const leadLabels = v1Table({
  name: 'lead_labels',
  primaryKey: 'id',
  path: '/leadLabels',
  paged: false,
});
