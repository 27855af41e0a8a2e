import type { Pool } from '@self-healing-shop/service-kit';

export interface Product {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
  readonly stock: number;
}

interface ProductRow {
  id: string;
  name: string;
  price_cents: number;
  stock: number;
}

const COLUMNS = 'id, name, price_cents, stock';

export function toProduct(row: ProductRow): Product {
  return { id: row.id, name: row.name, priceCents: row.price_cents, stock: row.stock };
}

/** Products and their stock, in the `inventory` schema. */
export class ProductStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** One page ordered by id, starting after `afterId`; `hasMore` says whether another page exists. */
  async list(options: {
    limit: number;
    afterId?: string | undefined;
  }): Promise<{ items: Product[]; hasMore: boolean }> {
    const { rows } = await this.#pool.query<ProductRow>(
      `SELECT ${COLUMNS} FROM inventory.products WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2`,
      [options.afterId ?? null, options.limit + 1],
    );
    return { items: rows.slice(0, options.limit).map(toProduct), hasMore: rows.length > options.limit };
  }

  async get(id: string): Promise<Product | undefined> {
    const { rows } = await this.#pool.query<ProductRow>(
      `SELECT ${COLUMNS} FROM inventory.products WHERE id = $1`,
      [id],
    );
    return rows[0] ? toProduct(rows[0]) : undefined;
  }

  /**
   * Sets the stock (a restock or an admin correction); undefined when the product does not exist. The
   * difference is recorded as units received (negative for units written off) in the same statement.
   */
  async setStock(id: string, stock: number): Promise<Product | undefined> {
    const { rows } = await this.#pool.query<ProductRow>(
      `UPDATE inventory.products SET received_units = received_units + ($2 - stock), stock = $2, updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, stock],
    );
    return rows[0] ? toProduct(rows[0]) : undefined;
  }
}
