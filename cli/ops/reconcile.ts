import { reconcileAll, TRACKED_KINDS, type ReconcileDeps } from '../../shared/reconcile';

const SHOWN_PER_CHECK = 20;
const SHOWN_STUCK = 10;

/**
 * Runs the whole reconcile (with `since`, its checks over the rows written from then on) and
 * prints it: each invariant as ok or with the rows that drifted,
 * then per kind the accepted requests left stuck (with the oldest ids and their ages) and the
 * Redis records it repaired from the database. Resolves to what an operator must act on:
 * drifting rows plus stuck requests (repairs are done, not drift).
 */
export async function runReconcile(
  deps: ReconcileDeps,
  options: { stuckAfterS: number; since?: number },
  out: (line: string) => void,
): Promise<number> {
  const report = await reconcileAll(deps, { ...options, shown: SHOWN_STUCK });
  if (report.since !== null) {
    out(`reconcile: the rows written since ${new Date(report.since).toISOString()} only`);
  }
  let drift = 0;
  for (const check of report.checks) {
    const n = check.violations.length;
    drift += n;
    const took = `${check.ms.toLocaleString('en-US')} ms`.padStart(10);
    out(`${n === 0 ? 'ok   ' : 'DRIFT'}  ${check.name.padEnd(36)}${took}  ${check.description}`);
    for (const row of check.violations.slice(0, SHOWN_PER_CHECK))
      out(`         ${JSON.stringify(row)}`);
    if (n > SHOWN_PER_CHECK) out(`         ... and ${n - SHOWN_PER_CHECK} more`);
  }
  out(drift === 0 ? 'reconcile: every invariant holds' : `reconcile: ${drift} violation(s)`);

  let stuck = 0;
  const after = `${options.stuckAfterS} s`;
  for (const kind of TRACKED_KINDS) {
    const found = report.stuck[kind];
    stuck += found.count;
    const name = `stuck-${kind}s`.padEnd(36);
    if (found.count === 0) {
      out(
        `ok     ${name} no ${kind} is stuck (accepted over ${after} ago, neither final nor ON_HOLD)`,
      );
    } else {
      const atLeast = found.lowerBound ? 'at least ' : '';
      out(
        `STUCK  ${name} ${atLeast}${found.count} ${kind}(s) accepted over ${after} ago: ` +
          'neither final nor ON_HOLD, and not final in the database',
      );
      for (const { id, ageS, status } of found.oldest)
        out(`         ${id}  ${status ?? 'no status record'}  accepted ${ageS} s ago`);
      if (found.count > found.oldest.length)
        out(`         ... and ${found.count - found.oldest.length} more`);
    }
    if (found.lowerBound) {
      out(
        `         examined the oldest ${found.examined} of ${found.candidates} open ${kind}(s) ` +
          `accepted over ${after} ago: the count is a lower bound`,
      );
    }
    if (found.repaired.length > 0) {
      out(
        `REPAIRED ${found.repaired.length} ${kind} status record(s) in Redis from the final ` +
          `state in the database: ${found.repaired.slice(0, SHOWN_STUCK).join(' ')}` +
          (found.repaired.length > SHOWN_STUCK ? ' ...' : ''),
      );
    }
  }
  if (stuck > 0) {
    out(
      `reconcile: ${stuck} stuck request(s): drift an operator must act on ` +
        '(see docs/operations-reconcile.md)',
    );
  }
  if (drift + stuck > 0) {
    out(`reconcile: exit 1 (${drift} drifting row(s), ${stuck} stuck request(s))`);
  }
  return drift + stuck;
}
