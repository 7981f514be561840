import { terminalText, type Output } from '../output.js';
import { VENDOR_NAMES, type Change, type ConnectReport, type Finding } from './report.js';

// Vendor strings (webhook ids, workspace names, dbt Cloud's deactivation reasons, error
// bodies) reach the terminal: each goes through terminalText before postload's colours.

const DONE: Record<Change['verb'], string> = { create: 'created', update: 'updated', delete: 'deleted', 'add-version': 'added', keep: 'unchanged' };
const PLANNED: Record<Change['verb'], string> = { create: 'would create', update: 'would update', delete: 'would delete', 'add-version': 'would add', keep: 'unchanged' };
const MARK: Record<Change['verb'], string> = { create: '+', update: '~', delete: '-', 'add-version': '+', keep: '=' };

export function printReport(report: ConnectReport, out: Output): void {
  if (out.json) {
    out.data(report);
    return;
  }
  const header = `${VENDOR_NAMES[report.vendor]} ${report.target} → ${report.url}${report.vendor === 'airbyte' ? '?token=…' : ''}`;
  out.line(out.colour('bold', terminalText(header)) + (report.dryRun ? out.colour('dim', '  (dry run: nothing was changed)') : ''));
  for (const change of report.changes) {
    const verb = (report.dryRun ? PLANNED : DONE)[change.verb];
    const colour = change.verb === 'keep' ? 'dim' : change.verb === 'delete' ? 'yellow' : 'green';
    out.line(`  ${out.colour(colour, `${MARK[change.verb]} ${verb.padEnd(12)}`)} ${terminalText(change.subject)}: ${terminalText(change.detail)}`);
  }
  for (const note of report.notes) out.line(`  ${out.colour('yellow', 'note')} ${terminalText(note)}`);
  const changed = report.changes.filter((c) => c.verb !== 'keep').length;
  if (!report.dryRun) out.line(out.colour('dim', changed === 0 ? '  nothing to change: already as postload expects' : `  ${changed} change${changed > 1 ? 's' : ''}`));
}

export function printFindings(findings: Finding[], skipped: string[], out: Output): void {
  const ok = findings.every((f) => f.ok);
  if (out.json) {
    out.data({ ok, findings, skipped });
    return;
  }
  for (const finding of findings) {
    const mark = finding.ok ? out.colour('green', '✔') : out.colour('red', '✘');
    out.line(`${mark} ${VENDOR_NAMES[finding.vendor]} ${terminalText(finding.subject)}: ${terminalText(finding.details.join('; '))}`);
    if (finding.fix) out.line(`    fix: ${terminalText(finding.fix)}`);
  }
  for (const line of skipped) out.line(out.colour('dim', `· ${line}`));
  out.line(ok ? 'every registration is as postload expects' : `${findings.filter((f) => !f.ok).length} difference(s) from what postload expects`);
}
