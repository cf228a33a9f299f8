/** A `quick` bench report on a made-up machine, for tests of what the report renders. */
import type { Impl } from '../src/protocol.js';
import type { BenchReport } from '../src/report.js';
import { type CaseReport, evaluateTargets } from '../src/targets.js';

export function quickReport(
  impls: Impl[],
  cases: CaseReport[],
  targets: BenchReport['targets'] = evaluateTargets(cases),
): BenchReport {
  return {
    mode: 'quick',
    startedAt: new Date(0).toISOString(),
    durationSeconds: 1,
    machine: {
      cpu: 'test',
      cores: 1,
      memoryGiB: 1,
      kernel: 'k',
      node: 'v0',
      quiche: '0',
      matrixaiQuic: '0',
      date: '1970-01-01',
    },
    impls,
    cases,
    targets,
    broken: [],
  };
}
