import { eventLoopLagMs } from '../../load/scenarios/resources';
import { useApiWorld } from '../harness/context';
import { rawRequest } from '../harness/http';

const world = useApiWorld();

describe("The load runs' event-loop delay reading", () => {
  it("When the API's /metrics is read, then the p99 and max event-loop delay are found in it, in ms", async () => {
    const metrics = await rawRequest(world.api.baseUrl, { method: 'GET', path: '/metrics' });
    const lag = eventLoopLagMs(metrics.text);
    expect(lag).not.toBeNull();
    // Both are finite and non-negative (a fresh process may not have recorded a delay yet).
    expect(Number.isFinite(lag?.p99) && (lag?.p99 ?? -1) >= 0).toBe(true);
    expect(Number.isFinite(lag?.max) && (lag?.max ?? -1) >= 0).toBe(true);
  });

  it('When the page has no event-loop figures, then nothing is read', () => {
    expect(eventLoopLagMs('# HELP x\nx 1\n')).toBeNull();
  });
});
