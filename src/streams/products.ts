import { type CustomFieldEntity, type Row, V2ListStream } from './base';
import { ArrayChildStream, uniqueBy } from './children';

/** GET /api/v2/products, incremental on update_time. */
export class Products extends V2ListStream {
  get name(): string {
    return 'products';
  }
  get primaryKey(): string {
    return 'id';
  }
  override get cursorField(): string {
    return 'update_time';
  }
  override get customFieldEntity(): CustomFieldEntity {
    return 'product';
  }
  get path(): string {
    return '/products';
  }

  protected override shape(row: Row): Row {
    // A seed column the v2 API does not return (prices are per currency): kept, null.
    row.price = row.price ?? null;
    return row;
  }
}

/** One row per currency in a product's `prices`: key (id, currency), id being the product's id. */
export class ProductsPrices extends ArrayChildStream {
  get name(): string {
    return 'products_prices';
  }
  get parentName(): string {
    return 'products';
  }
  get primaryKey(): string[] {
    return ['id', 'currency'];
  }
  protected get parentCursorColumn(): string | undefined {
    return 'product_update_time';
  }

  protected rowsOf(product: Row): Row[] {
    // Pipedrive allows one price per currency and product.
    return uniqueBy(product.prices, 'currency').map((price) => ({
      ...price,
      id: product.id,
      product_id: price.product_id ?? product.id,
    }));
  }
}
