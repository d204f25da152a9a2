import { Row, V2ListStream } from './base';

/** GET /api/v2/pipelines (full refresh: the endpoint has no updated_since). */
export class Pipelines extends V2ListStream {
  get name(): string {
    return 'pipelines';
  }
  get primaryKey(): string {
    return 'id';
  }
  get path(): string {
    return '/pipelines';
  }

  protected override shape(row: Row): Row {
    // Seed names for the same facts under v2 names.
    row.active = typeof row.is_deleted === 'boolean' ? !row.is_deleted : null;
    row.deal_probability = row.is_deal_probability_enabled ?? null;
    return row;
  }
}

/** GET /api/v2/stages (full refresh: the endpoint has no updated_since). */
export class Stages extends V2ListStream {
  get name(): string {
    return 'stages';
  }
  get primaryKey(): string {
    return 'id';
  }
  get path(): string {
    return '/stages';
  }
}
