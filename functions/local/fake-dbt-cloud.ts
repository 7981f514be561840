import { RecordingServer, type RecordedRequest, type Reply } from './recording-server.js';

const TRIGGER = /^\/api\/v2\/accounts\/(\d+)\/jobs\/(\d+)\/run\/?$/;
const LIST_RUNS = /^\/api\/v2\/accounts\/(\d+)\/runs\/?(\?.*)?$/;
const GET_JOB = /^\/api\/v2\/accounts\/(\d+)\/jobs\/(\d+)\/?$/;
const NOT_FOUND = { status: 404, body: { status: { code: 404, is_success: false, user_message: 'Not found' }, data: null } } as const;

/**
 * A stand-in for the dbt Cloud Administrative API v2 that records requests. It answers a
 * job trigger like dbt Cloud does (200 with a queued Run), lists the runs it started
 * (GET .../runs/?job_definition_id=J&order_by=-id&limit=N) and answers anything else with 404.
 * Script 429/5xx/4xx/'hang' replies with `script()`. `jobs`, when given, are the only jobs
 * that exist: GET .../jobs/{id}/ answers 404 for others, as dbt Cloud does (a cheap check
 * that a job exists, docs.getdbt.com "Retrieve Job"); without it every job exists.
 */
export function fakeDbtCloud({ jobs }: { jobs?: readonly number[] } = {}): RecordingServer {
  let nextRunId = 70_000_000;
  const runs: Array<Record<string, unknown>> = [];
  return new RecordingServer('dbt Cloud', (request: RecordedRequest, server): Reply => {
    const list = request.method === 'GET' ? LIST_RUNS.exec(request.url) : null;
    if (list) return { status: 200, body: { status: { code: 200, is_success: true }, data: listRuns(runs, list[1]!, request.url) } };
    const job = request.method === 'GET' ? GET_JOB.exec(request.url) : null;
    if (job) {
      if (jobs && !jobs.includes(Number(job[2]))) return NOT_FOUND;
      return { status: 200, body: { status: { code: 200, is_success: true }, data: { id: Number(job[2]), account_id: Number(job[1]), name: `Job ${job[2]}`, state: 1 } } };
    }
    const trigger = request.method === 'POST' ? TRIGGER.exec(request.url) : null;
    if (!trigger) return NOT_FOUND;
    const [, accountId, jobId] = trigger;
    const id = nextRunId++;
    const run = {
      id,
      account_id: Number(accountId),
      job_definition_id: Number(jobId),
      cause: (request.json as { cause?: string } | undefined)?.cause ?? null,
      status: 1,
      status_humanized: 'Queued',
      in_progress: true,
      is_complete: false,
      is_success: false,
      is_error: false,
      is_cancelled: false,
      created_at: new Date().toISOString(),
      finished_at: null,
      href: `${server.url}/deploy/${accountId}/projects/1/runs/${id}/`,
    };
    runs.push(run);
    return {
      status: 200,
      body: {
        status: { code: 200, is_success: true, user_message: 'Success!', developer_message: '' },
        data: run,
      },
    };
  });
}

function listRuns(runs: Array<Record<string, unknown>>, accountId: string, url: string): Array<Record<string, unknown>> {
  const query = new URL(url, 'http://fake').searchParams;
  const job = query.get('job_definition_id');
  const limit = Number(query.get('limit') ?? 100);
  return runs
    .filter((run) => run.account_id === Number(accountId) && (job === null || run.job_definition_id === Number(job)))
    .sort((a, b) => (b.id as number) - (a.id as number))
    .slice(0, limit);
}

/** The trigger requests a fake dbt Cloud received (POST .../jobs/{job}/run/). */
export function triggerRequests(server: RecordingServer): RecordedRequest[] {
  return server.requests.filter((r) => r.method === 'POST' && TRIGGER.test(r.url));
}
