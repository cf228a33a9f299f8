import type { Connection } from 'quichex';

/** A one-line health report of a live connection. */
export function healthReport(conn: Connection): string {
  const stats = conn.stats(); // whole connection: packets, bytes, losses, flow-control stalls
  const path = conn.pathStats()[0]; // per path: RTT (nanoseconds), congestion window (bytes), PMTU
  const rttMs = Number(path?.rtt ?? 0) / 1e6;
  return [
    `rtt ${rttMs.toFixed(2)} ms`,
    `cwnd ${path?.cwnd} B`,
    `sent ${stats.sent} pkts (${stats.sentBytes} B)`,
    `lost ${stats.lost}`,
    `stream stalls ${stats.streamDataBlockedSentCount}`,
  ].join(', ');
}
