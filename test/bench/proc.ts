import { readFileSync } from 'node:fs';

/**
 * A process's resident memory from /proc/<pid>/status (Linux): VmRSS now, and VmHWM, the
 * kernel's high-water mark of it over the process's life, so the peak under load needs no
 * sampling (which would miss short spikes).
 */
export function readRss(pid: number): { current: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { current: kib('VmRSS'), peak: kib('VmHWM') };
}
