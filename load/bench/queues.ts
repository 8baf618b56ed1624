import type { Cluster, Redis } from 'ioredis';
import { createLogger } from '../../shared/logger';
import { createQueues, type QueueLayoutSource, type RequestQueues } from '../../shared/queues';

/**
 * The system's queues as the bench reads them (counts only, never an add): the same key layout
 * the processes use, every partition. The caller owns `connection` and closes the queues.
 */
export function readQueues(connection: Redis | Cluster, layout: QueueLayoutSource): RequestQueues {
  const logger = createLogger({ level: 'warn', service: 'bench' });
  // The retry policy only shapes the options of added jobs; the bench adds none through these.
  return createQueues(connection, layout, { attempts: 1, backoffMs: 1_000 }, logger);
}
