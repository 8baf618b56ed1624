/**
 * The contract's rules for orders, written as plainly as possible to check the code's single
 * rule (`workers/orders/decide-orders.ts`) against: orders are taken one after another, each
 * against the stock and balances the ones before it left. Each order names a product at most
 * once (the API refuses anything else).
 */
export interface SpecStart {
  /** Stock and price of every product that exists. */
  products: ReadonlyMap<number, { stock: number; price: number }>;
  /** Balance of every user who has a row. */
  balances: ReadonlyMap<number, number>;
}

export interface SpecOrder {
  userId: number;
  items: readonly { productId: number; quantity: number }[];
}

export interface SpecOutcome {
  status: 'PAID' | 'FAILED';
  failureCode: 'INSUFFICIENT_STOCK' | 'INSUFFICIENT_BALANCE' | 'PRODUCT_NOT_FOUND' | null;
  totalAmount: number | null;
}

export interface SpecResult {
  outcomes: SpecOutcome[];
  /** Stock and units sold per product at the end. */
  stock: Map<number, { stock: number; sold: number }>;
  /** Balance per user at the end (users without a row keep none). */
  balances: Map<number, number>;
}

export function specify(orders: readonly SpecOrder[], start: SpecStart): SpecResult {
  const stock = new Map([...start.products].map(([id, p]) => [id, { stock: p.stock, sold: 0 }]));
  const balances = new Map(start.balances);
  const outcomes = orders.map((order): SpecOutcome => {
    // Looked at in ascending product id: the first item that cannot be served decides.
    const byId = [...order.items].sort((a, b) => a.productId - b.productId);
    for (const item of byId) {
      const product = stock.get(item.productId);
      if (product === undefined) {
        return { status: 'FAILED', failureCode: 'PRODUCT_NOT_FOUND', totalAmount: null };
      }
      if (product.stock < item.quantity) {
        return { status: 'FAILED', failureCode: 'INSUFFICIENT_STOCK', totalAmount: null };
      }
    }
    let total = 0;
    for (const item of byId)
      total += (start.products.get(item.productId)?.price ?? 0) * item.quantity;
    // Something that costs nothing needs no balance; anything else needs enough of one.
    const balance = balances.get(order.userId);
    if (total > 0 && (balance === undefined || balance < total)) {
      return { status: 'FAILED', failureCode: 'INSUFFICIENT_BALANCE', totalAmount: total };
    }
    for (const item of byId) {
      const product = stock.get(item.productId);
      if (product) {
        product.stock -= item.quantity;
        product.sold += item.quantity;
      }
    }
    if (total > 0 && balance !== undefined) balances.set(order.userId, balance - total);
    return { status: 'PAID', failureCode: null, totalAmount: total };
  });
  return { outcomes, stock, balances };
}
