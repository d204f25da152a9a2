import { Rng } from '../random';
import { TableSource } from '../store/table';
import { toV2Time } from '../time';
import { FieldEntity, JsonObject } from '../types';
import { keysFromTimes } from './account';
import { timelineKeys } from './contacts';
import { customFieldsFor, GenerationContext } from './context';
import { CURRENCIES, PRODUCT_NAMES, PRODUCT_UNITS } from './words';

/** Products (v2 shape, with a `prices` array per currency). */

export function productName(seed: number, id: number): string {
  const base = PRODUCT_NAMES[(id - 1) % PRODUCT_NAMES.length];
  const edition = Rng.for(seed, 'product-name', id).pick(['Basic', 'Pro', 'Enterprise']);
  return id <= PRODUCT_NAMES.length ? base : `${base} ${edition} ${id}`;
}

/** Option ids of a standard field, e.g. the deal `label` or the product `category`. */
export function standardOptionIds(
  context: GenerationContext,
  entity: FieldEntity,
  key: string,
): number[] {
  const field = context.fields.definitions[entity].find((definition) => definition.key === key);
  return (field?.options ?? []).map((option) => option.id);
}

export function productPrices(productId: number, rng: Rng): JsonObject[] {
  const currencies = CURRENCIES.slice(0, rng.int(1, 3));
  const basePrice = rng.amount(10, 5000);
  return currencies.map((currency, index) => {
    const price = Math.round(basePrice * (1 + index * 0.1) * 100) / 100;
    return {
      product_id: productId,
      price,
      currency: currency.code,
      cost: Math.round(price * 0.6 * 100) / 100,
      direct_cost: rng.chance(0.5) ? Math.round(price * 0.3 * 100) / 100 : null,
      notes: rng.chance(0.2) ? 'Partner price list' : '',
    };
  });
}

export function productSource(context: GenerationContext): TableSource<JsonObject> {
  const count = context.sizes.products;
  const baseKeys = (slot: number) => timelineKeys(context, 'product', slot, count, 500);
  const categories = standardOptionIds(context, 'product', 'category');
  return {
    baseCount: count,
    baseKeys,
    keysOf: (record) => keysFromTimes(record),
    generate(slot) {
      const id = slot + 1;
      const keys = baseKeys(slot);
      const rng = Rng.for(context.seed, 'product', slot);
      const billing = rng.pick(['one-time', 'one-time', 'monthly', 'annually']);
      return {
        id,
        name: productName(context.seed, id),
        code: `SKU-${String(id).padStart(5, '0')}`,
        description: rng.chance(0.5) ? 'Includes onboarding and e-mail support.' : null,
        unit: rng.pick(PRODUCT_UNITS),
        tax: rng.pick([0, 9, 20, 22]),
        category: rng.chance(0.8) ? rng.pick(categories) : null,
        is_deleted: false,
        is_linkable: true,
        visible_to: rng.pick([3, 3, 7]),
        owner_id: rng.int(1, context.sizes.users),
        add_time: toV2Time(keys.addTime),
        update_time: toV2Time(keys.updateTime),
        billing_frequency: billing,
        billing_frequency_cycles: billing === 'one-time' ? null : rng.pick([null, 12, 24]),
        prices: productPrices(id, rng),
        custom_fields: customFieldsFor(context, 'product', id, keys.updateTime),
      };
    },
  };
}
