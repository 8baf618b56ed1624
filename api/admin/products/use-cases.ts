import {
  MAX_STOCK,
  type NewProduct,
  type ProductAdminRepository,
  type ProductChanges,
} from '../../../shared/db/repositories/product-admin';
import { ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT, sqlErrno } from '../../../shared/db/sql';
import { AppError, serviceUnavailable } from '../../../shared/errors';
import type { ProductAdminMetrics } from '../../../shared/metrics';
import type { DbBreaker } from '../../../shared/resilience/breaker';
import { productView, type Catalog, type ProductView } from '../../catalog/use-cases';

export interface ProductAdminDeps {
  /** The operator's writes, on the primary. */
  products: ProductAdminRepository;
  /** The catalog this process serves: shows each write at once. */
  catalog: Catalog;
  /** The API's database breaker: while it is open, writes are refused at once (503). */
  breaker: DbBreaker;
  metrics: ProductAdminMetrics;
  /**
   * How long a write may take before it is answered 503 (its outcome unknown): the workers'
   * DB_BREAKER_TIMEOUT_MS, above two lock waits, so a write that only waits on a row an order
   * holds completes, and one that hangs on a dead connection does not hold the client forever.
   */
  writeTimeoutMs: number;
}

/** A restock's answer; `replayed` when its Idempotency-Key was used before for it. */
export interface Restocked {
  productId: number;
  stock: number;
  replayed: boolean;
}

const notFound = (id: number) => new AppError('PRODUCT_NOT_FOUND', { detail: `No product ${id}` });

/**
 * The operator's catalog writes, synchronous on the primary (unlike orders and charges, an
 * operator waits for the row): create, change, restock. Each write is shown by this process at
 * once and by every other within about a second (their change feeds).
 */
export function createProductAdmin(deps: ProductAdminDeps) {
  const { products, catalog, breaker, metrics, writeTimeoutMs } = deps;

  /**
   * Runs a write unless the breaker says the database is down. Not through the breaker's
   * call timeout, which is sized for reads: a write that waits on a row an order holds should
   * complete rather than be cut off with its outcome unknown; `writeTimeoutMs` bounds it.
   * Lock contention that outlasts the retries is a 503 too: the client retries (a restock
   * with the same key).
   */
  async function writing<T>(work: () => Promise<T>): Promise<T> {
    if (breaker.state === 'open') {
      throw new AppError('SERVICE_UNAVAILABLE', {
        detail: 'The database is unavailable (circuit open)',
        retryAfterSeconds: 2,
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(
          serviceUnavailable(
            'The database did not answer in time; the outcome is unknown (a restock may be ' +
              'retried with the same Idempotency-Key)',
          ),
        );
      }, writeTimeoutMs);
    });
    try {
      return await Promise.race([work(), timeout]);
    } catch (error) {
      const errno = sqlErrno(error);
      if (errno === ER_LOCK_WAIT_TIMEOUT || errno === ER_LOCK_DEADLOCK) {
        throw serviceUnavailable('The product is busy; retry', error);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async create(product: NewProduct): Promise<ProductView> {
      const view = productView(await writing(() => products.create(product)));
      metrics.write('create', 'applied');
      await catalog.changed(view, false);
      return view;
    },

    async update(id: number, changes: ProductChanges): Promise<ProductView> {
      const updated = await writing(() => products.update(id, changes));
      if (!updated) {
        metrics.write('update', 'not_found');
        throw notFound(id);
      }
      const view = productView(updated);
      metrics.write('update', 'applied');
      await catalog.changed(view, changes.name !== undefined);
      return view;
    },

    async restock(productId: number, quantity: number, key: string): Promise<Restocked> {
      const outcome = await writing(() => products.restock(productId, quantity, key));
      switch (outcome.kind) {
        case 'applied':
          metrics.write('restock', 'applied');
          metrics.restocked(quantity);
          await catalog.changed(productView(outcome.product), false);
          return { productId, stock: outcome.product.stock, replayed: false };
        case 'replayed':
          metrics.write('restock', 'replayed');
          return { productId, stock: outcome.stock, replayed: true };
        case 'not-found':
          metrics.write('restock', 'not_found');
          throw notFound(productId);
        case 'key-reused':
          metrics.write('restock', 'refused');
          throw new AppError('IDEMPOTENCY_KEY_REUSED', {
            detail: 'This Idempotency-Key was used for another restock (product or quantity)',
          });
        case 'stock-limit':
          metrics.write('restock', 'refused');
          throw new AppError('VALIDATION_FAILED', {
            detail: `The stock would pass ${MAX_STOCK}; nothing was added`,
            errors: [
              {
                path: 'body.quantity',
                message: `would take the stock (${outcome.stock}) past ${MAX_STOCK}`,
              },
            ],
          });
      }
    },
  };
}

export type ProductAdmin = ReturnType<typeof createProductAdmin>;
