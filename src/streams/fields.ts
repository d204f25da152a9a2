import { isPlainObject } from '../normalize';
import {
  type CustomFieldEntity,
  PipedriveStream,
  type Row,
  type StreamPage,
  type StreamServices,
} from './base';
import { ArrayChildStream } from './children';

/**
 * GET /v1/{entity}Fields: the field definitions of one entity, standard and custom, with their
 * raw keys. Read through the run's FieldDefinitionCache, so that this stream, the options
 * stream and the custom columns of the entity's own stream share one fetch.
 */
export class FieldDefinitions extends PipedriveStream {
  constructor(
    services: StreamServices,
    readonly entity: CustomFieldEntity,
  ) {
    super(services);
  }

  get name(): string {
    return `${this.entity}_fields`;
  }
  get primaryKey(): string {
    return 'id';
  }

  async *readPages(): AsyncGenerator<StreamPage> {
    const definitions = await this.services.fields.definitions(this.entity, this.name);
    const rows: Row[] = [];
    let withoutId = 0;
    for (const definition of definitions) {
      if (!isPlainObject(definition)) continue;
      if (definition.id === null || definition.id === undefined) {
        withoutId++;
        continue;
      }
      // A copy: the cached definitions are shared with the custom-field plans.
      rows.push(this.finish({ ...definition, parent_id: definition.parent_id ?? null }));
    }
    if (withoutId > 0) {
      this.log(
        'INFO',
        `${withoutId} field definition(s) without an id (subfields) are left out; their parents list them under 'subfields'.`,
      );
    }
    yield { records: rows };
  }
}

/** One row per option of an enum/set field: (field_id, options__id, options__label). */
export class FieldOptions extends ArrayChildStream {
  constructor(
    services: StreamServices,
    readonly entity: CustomFieldEntity,
  ) {
    super(services);
  }

  get name(): string {
    return `${this.entity}_fields_options`;
  }
  get parentName(): string {
    return `${this.entity}_fields`;
  }
  get primaryKey(): string[] {
    return ['field_id', 'options__id'];
  }
  protected get parentCursorColumn(): string | undefined {
    return undefined;
  }

  protected rowsOf(field: Row): Row[] {
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
  }
}

const FIELD_ENTITIES: CustomFieldEntity[] = [
  'activity',
  'deal',
  'organization',
  'person',
  'product',
];

/** Every field-definition stream, each followed by its options stream. */
export function fieldStreams(services: StreamServices): PipedriveStream[] {
  return FIELD_ENTITIES.flatMap((entity) => [
    new FieldDefinitions(services, entity),
    new FieldOptions(services, entity),
  ]);
}
