import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response, Router } from 'express';
import { requestIdOf } from './request-id';

/**
 * A route served by a function over `node:http`'s request and response, after the edge began
 * the request (`edge.ts`). Express mounts it like any route; the fast lane (`fast-lane.ts`)
 * serves the same function in front of Express. One definition, two doors.
 */
export interface Endpoint {
  method: 'GET' | 'POST';
  /** The route template, as Express mounts it and as metrics and logs name it. */
  route: string;
  /** The path parameters when `path` (without the query) is this route exactly, else undefined. */
  match(path: string): Record<string, string> | undefined;
  /** Answers the request; throwing (an AppError or anything) answers its problem instead. */
  serve(
    req: IncomingMessage,
    res: ServerResponse,
    request: { id: string; params: Record<string, string> },
  ): Promise<void> | void;
}

/** An endpoint at a fixed path. */
export const exactly =
  (path: string) =>
  (candidate: string): Record<string, string> | undefined =>
    candidate === path ? {} : undefined;

/** Mounts an endpoint on an Express router. */
export function mount(router: Router, endpoint: Endpoint): void {
  const handler = (req: Request, res: Response) =>
    endpoint.serve(req, res, {
      id: requestIdOf(res.locals),
      params: req.params as Record<string, string>,
    });
  if (endpoint.method === 'GET') router.get(endpoint.route, handler);
  else router.post(endpoint.route, handler);
}
