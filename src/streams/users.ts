import { V1ListStream } from './base';

/** GET /v1/users: every user of the company (one page, no pagination). */
export class Users extends V1ListStream {
  get name(): string {
    return 'users';
  }
  get primaryKey(): string {
    return 'id';
  }
  get path(): string {
    return '/users';
  }
}

/** GET /v1/activityTypes. */
export class ActivityTypes extends V1ListStream {
  get name(): string {
    return 'activity_types';
  }
  get primaryKey(): string {
    return 'id';
  }
  get path(): string {
    return '/activityTypes';
  }
}
