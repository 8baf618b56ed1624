import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema';

export type { components, operations, paths } from './schema';

/** Options of {@link createShopClient}. */
export interface ShopClientOptions {
  /** Where the API runs, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** A user's JWT, sent as `Authorization: Bearer <token>`; omit it for public reads. */
  token?: string;
  /** The fetch to use; defaults to the global one. */
  fetch?: typeof fetch;
}

export type ShopClient = Client<paths>;

/**
 * A typed client of the shop API (openapi-fetch over the types that `npm run openapi` generates
 * from docs/openapi.json): `client.GET('/api/orders/{orderId}', { params: { path: { orderId } } })`.
 */
export function createShopClient(options: ShopClientOptions): ShopClient {
  return createClient<paths>({
    baseUrl: options.baseUrl,
    headers: options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` },
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}
