import { enableQuicheDebugLog } from 'quichex';

/** Captures quiche's own trace lines while `work` runs. Verbose and slow: for debugging only. */
export async function captureQuicheLog(work: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  enableQuicheDebugLog((line) => lines.push(line));
  try {
    await work();
  } finally {
    enableQuicheDebugLog(null); // stop forwarding
  }
  return lines;
}
