import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AppError } from '../../shared/errors';
import { withLogContext, type Logger } from '../../shared/logger';
import type { Metrics } from '../../shared/metrics';
import type { Admission } from '../../shared/resilience/admission';
import { BODY_LIMIT_BYTES } from '../http/json-body';
import type { RequestObserver } from '../http/observe';
import { problemFor, writeProblem } from '../http/problem';
import { requestIdFor } from '../http/request-id';
import type { HeaderSet } from '../http/security-headers';
import { isIdempotencyKey, type Accepted } from './accept';
import type { FastAcceptRoute } from './accept-route';

export interface FastAcceptsDeps {
  routes: FastAcceptRoute[];
  /** The user of an already verified, unexpired bearer token; never verifies. */
  knownUser(authorization: string | undefined): number | undefined;
  admission: Admission;
  metrics: Metrics;
  observer: RequestObserver;
  logger: Logger;
  /** The security headers every response carries. */
  headers: HeaderSet;
}

const JSON_TYPE = /^application\/json(?:;\s*charset=utf-8)?$/i;
const LENGTH = /^[1-9][0-9]{0,4}$/;

/**
 * The accept path, in front of Express. `POST /api/orders` and `POST /api/charges` whose
 * token this process has verified before, with a plain JSON body of known length and a valid
 * `Idempotency-Key`, are served straight from `node:http`: the same validation (the route's
 * own zod schema), admission check, accept and response — status, headers, body — as the
 * Express route (a test compares the two), recorded the same way (metrics, access log, log
 * context). Every other request goes to Express untouched, before its body is read: a first
 * token, a missing or odd header, a chunked or compressed body.
 *
 * Why: after the accept micro-batches, `npm run bench` measured the API's CPU as the limit on
 * accepts; Express's middleware stack (request id context, helmet, body parser, routing over
 * every route) was most of it, as it had been for product reads.
 */
export function fastAccepts(deps: FastAcceptsDeps, next: RequestListener): RequestListener {
  const routes = new Map(deps.routes.map((route) => [route.path, route]));
  const fixed = [...deps.headers].flat();

  return (req, res) => {
    const route = req.method === 'POST' ? routes.get(req.url ?? '') : undefined;
    const h = req.headers;
    const userId =
      route &&
      JSON_TYPE.test(h['content-type'] ?? '') &&
      LENGTH.test(h['content-length'] ?? '') &&
      Number(h['content-length']) <= BODY_LIMIT_BYTES &&
      h['transfer-encoding'] === undefined &&
      h['content-encoding'] === undefined &&
      isIdempotencyKey(h['idempotency-key'])
        ? deps.knownUser(h.authorization)
        : undefined;
    if (route === undefined || userId === undefined) {
      next(req, res);
      return;
    }
    const started = process.hrtime.bigint();
    const requestId = requestIdFor(h['x-request-id'] as string | undefined);
    const head = ['X-Request-Id', requestId, ...fixed];
    const finish = (status: number) => {
      deps.observer.record({
        method: 'POST',
        route: route.path,
        status,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        requestId,
      });
    };

    readBody(req, (text) => {
      withLogContext({ requestId }, () => {
        serve(route, userId, h['idempotency-key'] as string, text, requestId)
          .then((accepted) => {
            writeAccepted(res, head, route, accepted);
            finish(202);
          })
          .catch((error: unknown) => {
            const problem = problemFor(error, deps.logger, { method: 'POST', path: route.path });
            writeProblem(res, problem, head);
            finish(problem.httpStatus);
          });
      });
    });
  };

  async function serve(
    route: FastAcceptRoute,
    userId: number,
    key: string,
    text: string,
    requestId: string,
  ): Promise<Accepted> {
    // As Express's body parser: nothing left (a body that was only a byte-order mark) is {}.
    let json: unknown = {};
    try {
      if (text !== '') json = JSON.parse(text);
    } catch {
      throw new AppError('INVALID_JSON');
    }
    return route.accept(userId, key, json, requestId, deps);
  }
}

/**
 * The body as UTF-8 text, once it has all arrived (its length was checked up front). A leading
 * byte-order mark is dropped, as Express's body parser drops it.
 */
function readBody(req: IncomingMessage, done: (text: string) => void): void {
  const chunks: Buffer[] = [];
  // A client that goes away mid-body: nothing to answer, and nothing may crash.
  req.on('error', () => undefined);
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const text =
      chunks.length === 1
        ? (chunks[0] as Buffer).toString('utf8')
        : Buffer.concat(chunks).toString('utf8');
    done(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  });
}

/** What `sendAccepted` sends from Express: 202, Location, the id and status URL. */
function writeAccepted(
  res: ServerResponse,
  head: readonly string[],
  route: FastAcceptRoute,
  accepted: Accepted,
): void {
  const statusUrl = `${route.path}/${accepted.id}`;
  const json = JSON.stringify({ [route.idField]: accepted.id, status: 'PENDING', statusUrl });
  const headers = [...head];
  if (accepted.replayed) headers.push('Idempotent-Replayed', 'true');
  headers.push(
    'Location',
    statusUrl,
    'Content-Type',
    'application/json; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(json)),
  );
  res.writeHead(202, headers);
  res.end(json);
}
