import { currentLogContext, withLogContext } from '../shared/logger';

describe('withLogContext', () => {
  it('When no context is around, then the given one is the context inside and none after', () => {
    expect(currentLogContext()).toBeUndefined();
    const inside = withLogContext({ requestId: 'r-1' }, () => currentLogContext());
    expect(inside).toEqual({ requestId: 'r-1' });
    expect(currentLogContext()).toBeUndefined();
  });

  it('When contexts nest, then the inner one has both, wins on a shared field and leaves the outer as it was', () => {
    withLogContext({ requestId: 'r-1', queue: 'orders' }, () => {
      const inner = withLogContext({ jobId: 'j-1', requestId: 'r-2' }, () => currentLogContext());
      expect(inner).toEqual({ requestId: 'r-2', queue: 'orders', jobId: 'j-1' });
      expect(currentLogContext()).toEqual({ requestId: 'r-1', queue: 'orders' });
    });
  });

  it('When the work inside goes on after an await, then it keeps its own context', async () => {
    const seen = await Promise.all(
      ['r-1', 'r-2'].map((requestId) =>
        withLogContext({ requestId }, async () => {
          await new Promise((resolve) => setImmediate(resolve));
          return currentLogContext()?.requestId;
        }),
      ),
    );
    expect(seen).toEqual(['r-1', 'r-2']);
  });
});
