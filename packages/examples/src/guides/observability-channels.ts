import diagnostics_channel from 'node:diagnostics_channel';
import type { CloseInfo } from 'quichex';

/** Counts what happens on every quichex connection in the process while `work` runs. */
export async function traceDuring(work: () => Promise<void>) {
  const counts: Record<string, number> = {};
  const closes: string[] = [];
  const unsubscribe: Array<() => void> = [];
  const on = (name: string, handler: (message: unknown) => void) => {
    diagnostics_channel.subscribe(name, handler);
    unsubscribe.push(() => diagnostics_channel.unsubscribe(name, handler));
  };
  for (const name of ['quichex:connection:established', 'quichex:stream:opened', 'quichex:datagram']) {
    on(name, () => {
      counts[name] = (counts[name] ?? 0) + 1;
    });
  }
  on('quichex:connection:closed', (message) => closes.push((message as { info: CloseInfo }).info.code));

  try {
    await work();
  } finally {
    for (const off of unsubscribe) off();
  }
  return { counts, closes };
}
