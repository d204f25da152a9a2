import { isPlainObject } from '../normalize';
import {
  type ArrayChildDeclaration,
  type FieldEntity,
  type RootDeclaration,
  type Row,
} from './base';
import { handOverWhole } from './readers';

/**
 * GET /v1/{entity}Fields: the field definitions of one entity, standard and custom, with their
 * raw keys. Read through the run's FieldDefinitionCache, so that this stream, the options
 * stream and the custom columns of the entity's own stream share one call.
 */
function fieldDefinitions(entity: FieldEntity): RootDeclaration {
  return {
    name: `${entity}_fields`,
    primaryKey: 'id',
    passes: [{ key: 'update_time', reader: 'v1', path: `/${entity}Fields` }],
    async read(stream, pass, request) {
      const definitions = await stream.fields.definitions(entity, stream.name);
      // The seed's *_fields have parent_id; note fields have no subfields and no such column.
      const hasParentId = 'parent_id' in stream.getJsonSchema().properties;
      const rows: Row[] = [];
      let subfields = 0;
      for (const definition of definitions) {
        if (!isPlainObject(definition)) continue;
        if (definition.id === null || definition.id === undefined) {
          subfields++;
          continue;
        }
        // A copy: the cached definitions are shared with the custom-field plans.
        const row: Row = { ...definition };
        if (hasParentId) row.parent_id = definition.parent_id ?? null;
        rows.push(row);
      }
      if (subfields > 0) {
        stream.log(
          'INFO',
          `${subfields} field definition(s) without an id (subfields) are left out; their parents list them under 'subfields'.`,
        );
      }
      await handOverWhole(stream, pass, request, rows);
    },
  };
}

/** One row per option of an enum/set field: (field_id, options__id, options__label). */
function fieldOptions(entity: FieldEntity): ArrayChildDeclaration {
  return {
    name: `${entity}_fields_options`,
    parent: `${entity}_fields`,
    primaryKey: ['field_id', 'options__id'],
    rows(field) {
      const options = field.options;
      if (!Array.isArray(options)) return [];
      const seen = new Set<string>();
      const rows: Row[] = [];
      for (const option of options) {
        if (!isPlainObject(option) || option.id === null || option.id === undefined) continue;
        const id = String(option.id);
        if (seen.has(id)) continue;
        seen.add(id);
        rows.push({
          field_id: field.id,
          field_key: field.key ?? null,
          options__id: id,
          options__label: option.label ?? null,
        });
      }
      return rows;
    },
  };
}

export const FIELD_ENTITIES: FieldEntity[] = [
  'activity',
  'deal',
  'note',
  'organization',
  'person',
  'product',
];

/** Every field-definition stream, each followed by its options stream. */
export const fieldStreams = FIELD_ENTITIES.flatMap((entity) => [
  fieldDefinitions(entity),
  fieldOptions(entity),
]);
