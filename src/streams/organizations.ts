import { type CustomFieldEntity, V2ListStream } from './base';

/** GET /api/v2/organizations, incremental on update_time. */
export class Organizations extends V2ListStream {
  get name(): string {
    return 'organizations';
  }
  get primaryKey(): string {
    return 'id';
  }
  override get cursorField(): string {
    return 'update_time';
  }
  override get customFieldEntity(): CustomFieldEntity {
    return 'organization';
  }
  get path(): string {
    return '/organizations';
  }
}
