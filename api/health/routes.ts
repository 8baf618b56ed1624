import { Router } from 'express';
import { AppError } from '../../shared/errors';
import { writeProblem } from '../http/problem';
import { writeJson } from '../http/respond';

/** A dependency probe: resolves when the dependency answers. */
export type Probe = () => Promise<unknown>;

const PROBE_TIMEOUT_MS = 1_000;

async function probe(check: Probe): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error('timeout'));
    }, PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(probes: Record<string, Probe>): Router {
  const router = Router();

  router.get('/healthz', (req, res) => {
    writeJson(req, res, 200, '{"status":"ok"}');
  });

  router.get('/readyz', async (req, res) => {
    const names = Object.keys(probes);
    const states = await Promise.all(
      names.map((name) => probe(probes[name] ?? (() => Promise.resolve()))),
    );
    const checks = Object.fromEntries(names.map((name, i) => [name, states[i]]));
    const down = names.filter((_, i) => states[i] === 'down');
    if (down.length === 0) {
      writeJson(req, res, 200, JSON.stringify({ status: 'ready', checks }));
      return;
    }
    writeProblem(
      req,
      res,
      new AppError('SERVICE_UNAVAILABLE', {
        detail: `Not ready: ${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} unreachable`,
        retryAfterSeconds: 1,
      }),
    );
  });

  return router;
}
