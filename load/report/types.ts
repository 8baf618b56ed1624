import type { Span } from '../scenarios/monitor';
import type { ResourceSample } from '../scenarios/resources';
import type { SettleResult } from '../scenarios/settle';
import type { Check, ExtraChart, Figure, LoadSize, PhaseResult } from '../scenarios/types';
import type { Environment } from './environment';

/** Everything a run measured and concluded; written whole as the raw JSON. */
export interface RunReport {
  scenario: { name: string; title: string; description: string };
  command: string;
  startedAt: string;
  finishedAt: string;
  /** "started by this run" or the --url it was pointed at. */
  target: string;
  size: LoadSize;
  /** The system's settings that differ from its defaults (admission, log level, …). */
  settings: Record<string, string>;
  environment: Environment | null;
  phases: PhaseResult[];
  figures: Figure[];
  checks: Check[];
  settle: SettleResult | null;
  reconcile: { ok: boolean; output: string } | null;
  /** Warnings and errors the processes logged, by message. */
  problems: Record<string, number>;
  /** CPU and memory once a second, with the phases and waits (epoch ms). */
  timeline: { startedAt: number; samples: ResourceSample[]; spans: Span[] };
  charts: ExtraChart[];
  passed: boolean;
  error: string | null;
}
