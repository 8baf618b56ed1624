import { parseBenchOptions } from '../../load/bench/options';

const parse = (argv: string[]) =>
  parseBenchOptions({ argv, databaseServer: undefined, redisUrl: undefined, env: {} });

describe("The bench's options", () => {
  it('When nothing is given, then the cluster setups run with 16 partitions (QUEUE_PARTITIONS’s default with a cluster)', () => {
    expect(parse([]).partitions).toBe(16);
    expect(parse(['--cluster', '--partitions', '3'])).toMatchObject({
      cluster: true,
      partitions: 3,
    });
  });

  it.each([['0'], ['257'], ['three']])(
    'When --partitions is %s, then the bench refuses it by name',
    (value) => {
      expect(() => parse(['--partitions', value])).toThrow(/--partitions/);
    },
  );
});
