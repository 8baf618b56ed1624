import {
  CpuMeter,
  parseCommandStats,
  parseRedisCpuSeconds,
  parseSchedstat,
  parseStat,
  readStat,
} from '../../load/bench/cpu';
import { parseWrkSummary } from '../../load/bench/generators';
import { parseAnswer } from '../../load/bench/open-loop';

// Timing-free: the parsers of the bench's CPU accounting and generators, on fixed inputs.
describe("The bench's CPU accounting", () => {
  it('When a /proc/<pid>/stat line is parsed, then utime + stime and cutime + cstime are read after the command name', () => {
    // The command name may hold spaces and parentheses: fields are counted from the last ')'.
    const line =
      '4242 (node (bench) x) S 1 4242 4242 0 -1 4194304 1000 0 0 0 150 30 7 5 20 0 11 0 100 1000000 5000 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n';
    expect(parseStat(line)).toEqual({ own: 180, children: 12 });
  });

  it('When the line is not a stat line, then parsing throws instead of counting zero', () => {
    expect(() => parseStat('no name here')).toThrow(/no command name/);
    expect(() => parseStat('1 (x) S 1 2')).toThrow(/fewer than 17/);
  });

  it("When this process's own stat is read, then it parses, and a meter over no group reports only the generator", () => {
    expect(readStat(process.pid)).toEqual({
      own: expect.any(Number) as number,
      children: expect.any(Number) as number,
    });
    const stop = new CpuMeter().start({});
    expect(Object.keys(stop())).toEqual(['generator']);
  });

  it("When Redis's INFO cpu and INFO commandstats are parsed, then the whole server's CPU and each command's calls and µs are read, subcommands by their own names", () => {
    const cpu =
      '# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:3.500000\r\nused_cpu_sys_children:0.000000\r\n' +
      'used_cpu_user_main_thread:3.400000\r\n';
    expect(parseRedisCpuSeconds(cpu)).toBeCloseTo(4.75, 9);
    expect(() => parseRedisCpuSeconds('# CPU\r\nused_cpu_sys:1.0\r\n')).toThrow(/used_cpu_user/);
    const commands =
      '# Commandstats\r\ncmdstat_evalsha:calls=9254,usec=3431265,usec_per_call=370.79,rejected_calls=0,failed_calls=0\r\n' +
      'cmdstat_config|resetstat:calls=1,usec=12,usec_per_call=12.00,rejected_calls=0,failed_calls=0\r\n';
    expect(parseCommandStats(commands)).toEqual({
      evalsha: { calls: 9254, usec: 3431265 },
      'config|resetstat': { calls: 1, usec: 12 },
    });
  });

  it('When a process of a group is gone, then the meter says so', () => {
    expect(() => new CpuMeter().start({ api: [2 ** 22 + 7] })).toThrow(/is gone/);
  });

  it('When a /proc/<pid>/schedstat line is parsed, then run time and run-queue wait are read', () => {
    expect(parseSchedstat('3691312 33200232 13\n')).toEqual({ runNs: 3691312, waitNs: 33200232 });
    expect(() => parseSchedstat('')).toThrow(/schedstat/);
  });

  it("When wrk's output holds the Lua summary line, then its counts are read", () => {
    const output =
      'Running 10s test\n  2 threads and 100 connections\nBENCH {"requests":1000,"durationUs":10000000,"connect":0,"read":1,"write":0,"status":3,"timeout":2,"p50Us":1500,"p99Us":9000}\n';
    expect(parseWrkSummary(output)).toMatchObject({ requests: 1000, status: 3, p99Us: 9000 });
    expect(() => parseWrkSummary('Running 10s test\n')).toThrow(/no summary/);
  });

  it("When the open-loop generator reads answers, then it finds each answer's end by Content-Length or the last chunk", () => {
    const a = 'HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}';
    const b = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n';
    expect(parseAnswer(Buffer.from(a + b))).toEqual({ status: 202, end: a.length });
    expect(parseAnswer(Buffer.from(b))).toEqual({ status: 200, end: b.length });
    expect(parseAnswer(Buffer.from(a.slice(0, -1)))).toBeNull();
  });
});
