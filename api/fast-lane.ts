import type { IncomingMessage, ServerResponse } from 'node:http';
import { withLogContext, type Logger } from '../shared/logger';
import type { Edge } from './http/edge';
import type { Endpoint } from './http/endpoint';
import { pathOf } from './http/in-flight-limit';
import { problemFor, writeProblem } from './http/problem';

/**
 * The fast lane: the hottest endpoints (product detail, the accepts) served in front of
 * Express by the very functions Express mounts for them (`Endpoint`), begun by the same edge
 * and answered by the same writers. What it takes depends only on the request line — the
 * method and the path exactly as an endpoint's route — never on what this process has seen
 * before. Anything else (another path or method, a trailing slash, other letter case) goes to
 * Express, which routes it to the same endpoint or elsewhere.
 *
 * Why: Express's routing and middleware cost more than the work of these requests
 * (load/REPORT.md, "Optimisations, before and after").
 */
export function createFastLane(endpoints: readonly Endpoint[], edge: Edge, logger: Logger) {
  /** The endpoint the lane serves a request line with, and its path parameters. */
  function route(method: string | undefined, url: string | undefined) {
    const path = pathOf(url);
    for (const endpoint of endpoints) {
      if (endpoint.method !== method) continue;
      const params = endpoint.match(path);
      if (params !== undefined) return { endpoint, params, path };
    }
    return undefined;
  }

  return {
    /** Whether the lane serves this request line. */
    takes: (method: string, url: string): boolean => route(method, url) !== undefined,

    /** Serves the request and answers true, or answers false and leaves it untouched. */
    serve(req: IncomingMessage, res: ServerResponse): boolean {
      const found = route(req.method, req.url);
      if (found === undefined) return false;
      const { endpoint, params, path } = found;
      const id = edge.begin(req, res, endpoint.route);
      const fail = (error: unknown) => {
        const problem = problemFor(error, logger, { method: req.method ?? '', path });
        if (!res.headersSent) writeProblem(req, res, problem);
      };
      withLogContext({ requestId: id }, () => {
        try {
          endpoint.serve(req, res, { id, params })?.catch(fail);
        } catch (error) {
          fail(error);
        }
      });
      return true;
    },
  };
}

export type FastLane = ReturnType<typeof createFastLane>;
