import {
  type ArrayChildDeclaration,
  type RootDeclaration,
  type Row,
  uniqueBy,
  v2Table,
} from './base';

/** GET /api/v2/persons, incremental on update_time. */
export const persons: RootDeclaration = v2Table({
  name: 'persons',
  primaryKey: 'id',
  path: '/persons',
  customFields: 'person',
});

/**
 * One row per distinct non-empty address in a person's `emails` (or `phones`): key
 * (id, <kind>_value), where id is the person's id (the seed's column), repeated as person_id.
 */
function contacts(kind: 'email' | 'phone'): ArrayChildDeclaration {
  return {
    name: `persons_${kind}s`,
    parent: 'persons',
    primaryKey: ['id', `${kind}_value`],
    cursor: 'person_update_time',
    rows: (person: Row) =>
      uniqueBy(person[`${kind}s`], 'value').map((entry) => ({
        id: person.id,
        person_id: person.id,
        [`${kind}_value`]: entry.value,
        [`${kind}_label`]: entry.label ?? null,
        [`${kind}_primary`]: entry.primary ?? null,
      })),
  };
}

export const personsEmails = contacts('email');
export const personsPhones = contacts('phone');
