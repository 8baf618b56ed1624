import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Router } from 'express';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board over every queue. Mounted behind admin Basic auth and the same-origin guard for
 * writes (see app.ts); `readOnly` hides retry/clean/remove/pause actions as well.
 */
export function bullBoardRouter(queues: Queue[], readOnly: boolean): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Shop queues' } },
  });
  return serverAdapter.getRouter() as Router;
}
