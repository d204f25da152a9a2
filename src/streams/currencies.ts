import { V1ListStream } from './base';

/** GET /v1/currencies: every currency the account supports. */
export class Currencies extends V1ListStream {
  get name(): string {
    return 'currencies';
  }
  get primaryKey(): string {
    return 'id';
  }
  get path(): string {
    return '/currencies';
  }
}
