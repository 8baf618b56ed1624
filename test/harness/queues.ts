import type { Job, JobType } from 'bullmq';
import type { PartitionedQueue } from '../../shared/queues';
import type { JobPayload } from '../../shared/queues/batch';

/**
 * A kind's queues over every partition, read as one: what the tests ask of "the orders queue"
 * whether the system runs one partition or sixteen.
 */
export function allOf<J>(queue: PartitionedQueue<J>) {
  const queues = queue.partitions.map((p) => p.queue);
  const each = async <T>(read: (q: (typeof queues)[number]) => Promise<T>) =>
    Promise.all(queues.map(read));
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
  return {
    name: queue.name,
    async getJobs(
      states: JobType[],
      start?: number,
      end?: number,
      asc?: boolean,
    ): Promise<Job<JobPayload<J>>[]> {
      return (await each((q) => q.getJobs(states, start, end, asc))).flat();
    },
    async getWaiting(): Promise<Job<JobPayload<J>>[]> {
      return (await each((q) => q.getWaiting())).flat();
    },
    async getWaitingCount(): Promise<number> {
      return sum(await each((q) => q.getWaitingCount()));
    },
    async getFailedCount(): Promise<number> {
      return sum(await each((q) => q.getFailedCount()));
    },
    async getJobCounts(...states: JobType[]): Promise<Record<string, number>> {
      const counts = await each((q) => q.getJobCounts(...states));
      const total: Record<string, number> = {};
      for (const c of counts)
        for (const [k, v] of Object.entries(c)) total[k] = (total[k] ?? 0) + v;
      return total;
    },
    async getJob(id: string): Promise<Job<JobPayload<J>> | undefined> {
      const found = await each((q) => q.getJob(id));
      return found.find((job) => job !== undefined);
    },
    async pause(): Promise<void> {
      await each((q) => q.pause());
    },
    async resume(): Promise<void> {
      await each((q) => q.resume());
    },
  };
}

/** The key layout of a single Redis with one partition under `prefix` (the default layout). */
export function singleLayout(prefix: string) {
  return { prefix, partitions: 1, previousPartitions: undefined, clusterNodes: undefined };
}
