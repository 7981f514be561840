import { readFileSync } from 'node:fs';

/** Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat (100 on every mainstream build). */
const TICKS_PER_SECOND = 100;

/**
 * A process's resident memory and CPU time from /proc (Linux): VmRSS now; VmHWM, the
 * kernel's high-water mark of it over the process's life, so the peak under load needs no
 * sampling (which would miss short spikes); and the CPU time it used, user + system, which
 * other work on a shared machine disturbs far less than wall-clock throughput.
 */
export function readProc(pid: number): { rss: number; peakRss: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return { rss: kib('VmRSS'), peakRss: kib('VmHWM'), cpuMs: (ticks * 1000) / TICKS_PER_SECOND };
}
