import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { ObservedQueue } from '../../shared/metrics';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board over every queue of every partition (a partitioned queue shows as `p3:orders`,
 * grouped by partition; with one partition, plainly `orders`). Mounted behind admin Basic auth
 * and the same-origin guard for writes (see app.ts); `readOnly` hides retry/clean/remove/pause
 * actions as well.
 */
export function bullBoardRouter(queues: readonly ObservedQueue[], readOnly: boolean): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  const names = queues.map(({ queue }) => queue.name);
  const shared = (name: string) => names.filter((n) => n === name).length > 1;
  createBullBoard({
    queues: queues.map(
      ({ queue, partition }) =>
        new BullMQAdapter(queue, {
          readOnlyMode: readOnly,
          ...(shared(queue.name) ? { prefix: `${partition}:`, delimiter: ':' } : {}),
        }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Shop queues' } },
  });
  return serverAdapter.getRouter() as Router;
}
