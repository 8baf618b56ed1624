import { createAccessLog } from '../../api/http/access-log';

describe('Access log', () => {
  it('When requests are logged and flushed, then each is one JSON line in the logger shape', () => {
    const chunks: string[] = [];
    const log = createAccessLog('api', (chunk) => chunks.push(chunk));
    log.log({
      requestId: 'r-1',
      method: 'GET',
      route: '/api/products/:productId',
      status: 200,
      ms: 0.25,
    });
    log.log({ requestId: 'r-"2"\n', method: 'PO"ST', route: 'unmatched', status: 404, ms: 3 });
    expect(chunks).toEqual([]);
    log.stop();

    const lines = chunks.join('').split('\n');
    expect(lines.at(-1)).toBe('');
    const parsed = lines.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toEqual([
      {
        level: 'http',
        message: 'request',
        service: 'api',
        requestId: 'r-1',
        method: 'GET',
        route: '/api/products/:productId',
        status: 200,
        ms: 0.25,
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
      },
      expect.objectContaining({ requestId: 'r-"2"\n', method: 'PO"ST', status: 404 }) as unknown,
    ]);
  });

  it('When more than 64 KiB is buffered, then it is written without waiting for the timer', () => {
    const chunks: string[] = [];
    const log = createAccessLog('api', (chunk) => chunks.push(chunk));
    for (let i = 0; i < 1_000; i++) {
      log.log({ requestId: `r-${i}`, method: 'GET', route: '/x', status: 200, ms: 1 });
    }
    expect(chunks.length).toBeGreaterThan(0);
    log.stop();
    expect(chunks.join('').split('\n').length - 1).toBe(1_000);
  });
});
