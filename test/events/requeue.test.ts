import { Queue, Worker } from 'bullmq';
import { uuidv7 } from '../../shared/ids';
import {
  EVENT_JOB_NAME,
  EVENTS_QUEUE,
  eventJobId,
  requeueEvent,
  type EventsJob,
} from '../../shared/queues/events';
import { createTestContext, type TestContext } from '../harness/context';

// Sweepers and `ops replay-events` hand events back to the queue without coordinating. Each
// reads a job's state and then acts on it; these tests move the job between the two, on a
// real Redis, with no worker taking the jobs.
let ctx: TestContext;
let queue: Queue<EventsJob>;
let taker: Worker<EventsJob>;

beforeAll(async () => {
  ctx = await createTestContext();
  const options = { connection: ctx.redis, prefix: ctx.config.redis.prefix };
  queue = new Queue<EventsJob>(EVENTS_QUEUE, options);
  taker = new Worker<EventsJob>(EVENTS_QUEUE, null, { ...options, autorun: false });
});

afterEach(async () => {
  await queue.obliterate({ force: true });
});

afterAll(async () => {
  await taker.close();
  await queue.close();
  await ctx.destroy();
});

/** An event whose job has failed for good, as a DEAD event's job has. */
async function failedEvent(): Promise<string> {
  const eventId = uuidv7();
  await queue.add(EVENT_JOB_NAME, { eventId }, { jobId: eventJobId(eventId), attempts: 1 });
  const job = await taker.getNextJob('test-token');
  expect(job.id).toBe(eventJobId(eventId));
  await job.moveToFailed(new Error('HTTP 500'), 'test-token', false);
  expect(await queue.getJobState(eventJobId(eventId))).toBe('failed');
  return eventId;
}

describe('Handing an event back to the queue while another process does the same', () => {
  it('When its failed job was retried by someone else after its state was read, then it answers present and the job waits once', async () => {
    const eventId = await failedEvent();
    const job = await queue.getJob(eventJobId(eventId));
    await job?.retry('failed');

    await expect(requeueEvent(queue, eventId, 'failed')).resolves.toBe('present');
    expect(await queue.getJobState(eventJobId(eventId))).toBe('waiting');
    expect(await queue.getWaitingCount()).toBe(1);
  });

  it('When its failed job was removed after its state was read, then it adds a new job', async () => {
    const eventId = await failedEvent();
    expect(await queue.remove(eventJobId(eventId))).toBe(1);

    await expect(requeueEvent(queue, eventId, 'failed')).resolves.toBe('added');
    const job = await queue.getJob(eventJobId(eventId));
    expect(await job?.getState()).toBe('waiting');
    expect(job?.data).toEqual({ eventId });
  });

  it('When two hand the same failed job back at once, then one retries it, the other finds it queued, and neither fails', async () => {
    for (let round = 0; round < 5; round++) {
      const eventId = await failedEvent();
      const results = await Promise.all([
        requeueEvent(queue, eventId),
        requeueEvent(queue, eventId),
      ]);
      expect(results.sort()).toEqual(['present', 'retried']);
      expect(await queue.getJobState(eventJobId(eventId))).toBe('waiting');
      expect(await queue.getWaitingCount()).toBe(1);
      await queue.drain();
    }
  });
});
