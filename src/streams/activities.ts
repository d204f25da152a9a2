import { type CustomFieldEntity, type Row, V2ListStream } from './base';

/** GET /api/v2/activities, incremental on update_time. */
export class Activities extends V2ListStream {
  get name(): string {
    return 'activities';
  }
  get primaryKey(): string {
    return 'id';
  }
  override get cursorField(): string {
    return 'update_time';
  }
  override get customFieldEntity(): CustomFieldEntity {
    return 'activity';
  }
  get path(): string {
    return '/activities';
  }

  protected override shape(row: Row): Row {
    // Seed name for v2's `busy`.
    row.busy_flag = row.busy ?? null;
    // A seed column the v2 API no longer returns: kept, null.
    row.last_notification_time = row.last_notification_time ?? null;
    return row;
  }
}
