import type { Sequelize } from 'sequelize';
import { reconcile } from '../../shared/db/reconcile';

const SHOWN_PER_CHECK = 20;

/** Prints each invariant as ok or with the rows that drifted; resolves to the drift count. */
export async function runReconcile(
  sequelize: Sequelize,
  out: (line: string) => void,
): Promise<number> {
  const checks = await reconcile(sequelize);
  let drift = 0;
  for (const check of checks) {
    const n = check.violations.length;
    drift += n;
    out(`${n === 0 ? 'ok   ' : 'DRIFT'}  ${check.name.padEnd(36)} ${check.description}`);
    for (const row of check.violations.slice(0, SHOWN_PER_CHECK))
      out(`         ${JSON.stringify(row)}`);
    if (n > SHOWN_PER_CHECK) out(`         ... and ${n - SHOWN_PER_CHECK} more`);
  }
  out(drift === 0 ? 'reconcile: every invariant holds' : `reconcile: ${drift} violation(s)`);
  return drift;
}
