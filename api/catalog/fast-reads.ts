import type { IncomingMessage, RequestListener } from 'node:http';
import type { RequestObserver } from '../http/observe';
import { requestIdFor } from '../http/request-id';
import type { HeaderSet } from '../http/security-headers';

/** `GET /api/products/{id}` with nothing after the id; longer ids are Express's to refuse. */
const PRODUCT_PATH = /^\/api\/products\/([1-9][0-9]{0,15})$/;
const ROUTE = '/api/products/:productId';

export interface FastReadsDeps {
  /** The product's JSON if this process holds it fresh; never loads. */
  cachedProduct(id: number): string | undefined;
  observer: RequestObserver;
  /** The security headers every response carries. */
  headers: HeaderSet;
}

/**
 * The hot read path, in front of Express. A product detail request whose JSON this process
 * already holds (fresh) is answered straight from `node:http` with the status, headers and
 * body the Express route would send — a test compares the two — and is recorded the same way
 * (metrics, access log). Anything else goes to Express untouched: a cache miss, any other
 * path or method, a query string, a conditional request, a request with a body.
 *
 * Why: with the JSON cached, the middleware stack (request id context, helmet, body parser,
 * routing over every route), not the cache, was the cost of a product read (load/REPORT.md,
 * "Bottleneck analysis"). Here a cached read does a regex, a Map lookup and one write.
 */
export function fastProductReads(deps: FastReadsDeps, next: RequestListener): RequestListener {
  const fixed = [...deps.headers].flat();
  fixed.push('Content-Type', 'application/json; charset=utf-8');

  return (req, res) => {
    const json = req.method === 'GET' && isPlain(req) ? productJson(deps, req.url) : undefined;
    if (json === undefined) {
      next(req, res);
      return;
    }
    const started = process.hrtime.bigint();
    const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined);
    res.writeHead(200, [
      'X-Request-Id',
      requestId,
      ...fixed,
      'Content-Length',
      String(Buffer.byteLength(json)),
    ]);
    res.end(json);
    deps.observer.record({
      method: 'GET',
      route: ROUTE,
      status: 200,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      requestId,
    });
  };
}

function productJson(deps: FastReadsDeps, url: string | undefined): string | undefined {
  const match = PRODUCT_PATH.exec(url ?? '');
  const id = Number(match?.[1]);
  return Number.isSafeInteger(id) ? deps.cachedProduct(id) : undefined;
}

/** No body, not conditional: nothing Express would answer differently. */
function isPlain(req: IncomingMessage): boolean {
  const h = req.headers;
  return (
    (h['content-length'] === undefined || h['content-length'] === '0') &&
    h['transfer-encoding'] === undefined &&
    h['if-none-match'] === undefined &&
    h['if-modified-since'] === undefined
  );
}
