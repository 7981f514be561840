import { Cron } from 'croner';

// Deadlines and vendor schedules as cron expressions, evaluated with croner (no
// dependencies; IANA time zones through Intl, so daylight-saving changes are right).
// - "cron": the routing file's five fields (minute hour day-of-month month day-of-week,
//   Sunday 0 or 7), as crontab(5) and Cloud Scheduler read them;
// - "quartz": Airbyte's schedules (Quartz CronExpression: seconds first, optional year,
//   `?`, Sunday = 1), as Airbyte's public API reports them: "<expression> <time zone>".

export type CronDialect = 'cron' | 'quartz';

export interface CronSpec {
  expression: string;
  timezone: string;
  dialect: CronDialect;
}

export interface CompiledCron {
  /** The first fire time strictly after `afterMs`, or null when there is none (a past year). */
  next(afterMs: number): number | null;
}

/** Compiles a spec, or throws with what is wrong with it in words. */
export function compileCron(spec: CronSpec): CompiledCron {
  if (!isTimeZone(spec.timezone)) throw new Error(`"${spec.timezone}" is not an IANA time zone such as Europe/Berlin or UTC`);
  let cron: Cron;
  try {
    cron = new Cron(spec.expression, {
      timezone: spec.timezone,
      paused: true,
      ...(spec.dialect === 'cron' ? { mode: '5-part' as const } : { mode: '6-or-7-parts' as const, alternativeWeekdays: true, sloppyRanges: true }),
    });
  } catch (error) {
    const fields = spec.dialect === 'cron' ? 'five fields: minute hour day-of-month month day-of-week' : 'a Quartz expression (seconds first)';
    throw new Error(`"${spec.expression}" is not a cron expression with ${fields} (${(error as Error).message.replace(/^CronPattern: /, '')})`);
  }
  if (!cron.nextRun(new Date(0))) throw new Error(`"${spec.expression}" never fires`);
  return {
    next(afterMs) {
      return cron.nextRun(new Date(afterMs))?.getTime() ?? null;
    },
  };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

/**
 * Airbyte's `cronExpression`: the Quartz expression, a space, the time zone
 * (ConnectionReadMapper.kt: "${cronExpression} ${cronTimeZone}").
 */
export function splitAirbyteCron(text: string): CronSpec | undefined {
  const at = text.trimEnd().lastIndexOf(' ');
  if (at < 0) return undefined;
  return { expression: text.slice(0, at).trim(), timezone: text.slice(at + 1).trim(), dialect: 'quartz' };
}
