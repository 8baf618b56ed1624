import type { PhaseResult, PhaseSpec, ScenarioContext } from './types';

/**
 * Runs `spec` after a timed warm-up with the same requests (`--warmup`, skipped at 0): JIT,
 * caches and connection pools settle first, and the measured phase is the second row of the
 * report. Returns the phases run.
 */
export async function withWarmUp(ctx: ScenarioContext, spec: PhaseSpec): Promise<PhaseResult[]> {
  const phases: PhaseResult[] = [];
  if (ctx.size.warmupS > 0) {
    phases.push(
      await ctx.runPhase({ ...spec, name: 'warm-up', amount: null, durationS: ctx.size.warmupS }),
    );
  }
  phases.push(await ctx.runPhase(spec));
  return phases;
}

/** 202s to requests of `kind` over every phase. */
export function acceptedOf(phases: PhaseResult[], kind: string): number {
  return phases.reduce((sum, p) => sum + (p.byKind[kind]?.statuses['202'] ?? 0), 0);
}
