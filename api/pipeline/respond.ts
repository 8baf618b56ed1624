import type { Response } from 'express';
import type { Accepted } from './accept';
import type { StatusView } from './status';

/** 202 with the status URL in the body and in Location; replays say so in a header. */
export function sendAccepted(
  res: Response,
  idField: 'orderId' | 'chargeId',
  accepted: Accepted,
  statusUrl: string,
): void {
  if (accepted.replayed) res.setHeader('Idempotent-Replayed', 'true');
  res
    .status(202)
    .location(statusUrl)
    .json({ [idField]: accepted.id, status: 'PENDING', statusUrl });
}

/** A status read: never cached; until final, clients are asked to poll again in a second. */
export function sendStatus(res: Response, view: StatusView): void {
  res.setHeader('Cache-Control', 'no-store');
  if (!view.final) res.setHeader('Retry-After', '1');
  res.type('application/json').send(view.json);
}
