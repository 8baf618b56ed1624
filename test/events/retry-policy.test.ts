import {
  DEFAULT_EVENT_RETRY,
  eventBackoffStrategy,
  eventJobOptions,
  minimumRetrySpanMs,
} from '../../shared/queues/events';

const HOUR = 3_600_000;

describe('The events retry policy', () => {
  it('When every delay is drawn at its shortest, then the default policy still retries for at least 24 h', () => {
    expect(minimumRetrySpanMs(DEFAULT_EVENT_RETRY)).toBeGreaterThanOrEqual(24 * HOUR);
    expect(eventJobOptions().attempts).toBe(DEFAULT_EVENT_RETRY.attempts);
  });

  it('When retries go on, then delays double from the first one and stop growing at the cap (plus at most 20 % jitter)', () => {
    const shortest = eventBackoffStrategy(DEFAULT_EVENT_RETRY, () => 0);
    const longest = eventBackoffStrategy(DEFAULT_EVENT_RETRY, () => 1);
    expect([1, 2, 3, 4].map(shortest)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(shortest(29)).toBe(DEFAULT_EVENT_RETRY.maxBackoffMs);
    expect(longest(29)).toBe(DEFAULT_EVENT_RETRY.maxBackoffMs * 1.2);
    // Attempt numbers far past the cap must not overflow into Infinity or NaN.
    expect(shortest(10_000)).toBe(DEFAULT_EVENT_RETRY.maxBackoffMs);
  });

  it('When failed and completed jobs pile up, then the queue keeps a bounded number of them', () => {
    const options = eventJobOptions();
    expect(options.removeOnComplete).toEqual({ age: 3_600, count: 10_000 });
    expect(options.removeOnFail).toEqual({ age: 14 * 24 * 3_600, count: 100_000 });
  });
});
