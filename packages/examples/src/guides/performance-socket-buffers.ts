import { readFileSync } from 'node:fs';

/** quichex asks for 4 MiB socket buffers; Linux silently caps the request at these sysctls. */
export async function socketBufferLimits() {
  const wanted = 4 * 1024 * 1024;
  const read = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'));
  const rmemMax = read('rmem_max');
  const wmemMax = read('wmem_max');
  return { rmemMax, wmemMax, enough: rmemMax >= wanted && wmemMax >= wanted };
}
