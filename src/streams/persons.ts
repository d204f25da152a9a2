import { type CustomFieldEntity, type Row, V2ListStream } from './base';
import { ArrayChildStream, uniqueBy } from './children';

/** GET /api/v2/persons, incremental on update_time. */
export class Persons extends V2ListStream {
  get name(): string {
    return 'persons';
  }
  get primaryKey(): string {
    return 'id';
  }
  override get cursorField(): string {
    return 'update_time';
  }
  override get customFieldEntity(): CustomFieldEntity {
    return 'person';
  }
  get path(): string {
    return '/persons';
  }
}

/**
 * One row per distinct non-empty address in a person's `emails` (or `phones`): key
 * (id, <kind>_value), where id is the person's id.
 */
abstract class PersonContacts extends ArrayChildStream {
  protected abstract get kind(): 'email' | 'phone';

  get parentName(): string {
    return 'persons';
  }
  get primaryKey(): string[] {
    return ['id', `${this.kind}_value`];
  }
  protected get parentCursorColumn(): string | undefined {
    return 'person_update_time';
  }

  protected rowsOf(person: Row): Row[] {
    const kind = this.kind;
    return uniqueBy(person[`${kind}s`], 'value').map((entry) => ({
      id: person.id,
      [`${kind}_value`]: entry.value,
      [`${kind}_label`]: entry.label ?? null,
      [`${kind}_primary`]: entry.primary ?? null,
    }));
  }
}

export class PersonsEmails extends PersonContacts {
  get name(): string {
    return 'persons_emails';
  }
  protected get kind(): 'email' {
    return 'email';
  }
}

export class PersonsPhones extends PersonContacts {
  get name(): string {
    return 'persons_phones';
  }
  protected get kind(): 'phone' {
    return 'phone';
  }
}
