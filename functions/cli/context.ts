import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { LOCAL_PROJECT_ID } from '../local/local-settings.js';
import { optionalString, projectId as projectFromEnv } from '../shared/settings.js';
import { DEPLOYMENT_NAMES, pubsubResource, type PubSubKind, type PubSubResource } from '../shared/deployment-names.js';
import { CliError, EXIT, isCliError } from './errors.js';
import { localStackEnv, type LocalStack } from './local-stack.js';

type Env = Record<string, string | undefined>;

/** What to do when there is neither a local stack nor a project: the local case first. */
export const NO_PROJECT_FIX =
  'for the local stack, start it with `npm start` in this folder (postload finds it by itself); for a deployment, pass --project PROJECT or set GOOGLE_CLOUD_PROJECT';

/**
 * The Google Cloud side of a command, the same for the local stack and a deployment: the
 * clients find the emulators through PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST (set
 * by the user, or taken from the running `npm start`, local-stack.ts) and otherwise use
 * Application Default Credentials. Names default as Terraform creates them.
 */
export class CloudContext {
  private firestoreClient: Firestore | undefined;
  private pubsubClient: PubSub | undefined;
  private resolvedProject: string | undefined;
  private credentialsChecked = false;
  readonly env: Env;

  constructor(
    env: Env,
    private readonly projectFlag: string | undefined,
    /** The running `npm start` this command uses, if it does. */
    readonly localStack?: LocalStack,
  ) {
    this.env = localStack ? localStackEnv(env, localStack) : env;
  }

  /** The topic as given (a name or a full id), else Terraform's default name. */
  get topic(): string {
    return this.named('topic');
  }

  /** The dead-letter subscription as given (a name or a full id), else Terraform's default name. */
  get deadLetterSubscription(): string {
    return this.named('deadLetterSubscription');
  }

  get auditCollection(): string {
    return this.named('auditCollection');
  }

  private named(which: keyof typeof DEPLOYMENT_NAMES): string {
    const { setting, name } = DEPLOYMENT_NAMES[which];
    return optionalString(this.env, setting) ?? name;
  }

  /**
   * A topic or subscription from a flag, its setting or Terraform's default, in either form
   * `terraform output` prints: a short name resolved in the project, or a full id used as it
   * is (its project then wins over the default project, so that republishing stays in it).
   */
  async pubsubResource(kind: PubSubKind, value: string, flag: string, setting: string): Promise<PubSubResource> {
    const full = value.trim().startsWith('projects/');
    try {
      return pubsubResource(kind, value, full ? undefined : await this.project());
    } catch (error) {
      if (isCliError(error)) throw error;
      throw new CliError(`${flag} / ${setting}: ${(error as Error).message}`, `pass the name or the full id \`terraform output -raw ${kind === 'topics' ? DEPLOYMENT_NAMES.topic.output : DEPLOYMENT_NAMES.deadLetterSubscription.output}\` prints`, EXIT.usage);
    }
  }

  /** The sweep's setting, with its default (functions/sweep/config.ts). */
  get freshnessCollection(): string {
    return optionalString(this.env, 'FRESHNESS_COLLECTION') ?? 'freshness';
  }

  /** The processor's setting, with its default (functions/processor/config.ts). */
  get connectorsCollection(): string {
    return optionalString(this.env, 'CONNECTORS_COLLECTION') ?? 'connectors';
  }

  get emulated(): boolean {
    return Boolean(optionalString(this.env, 'PUBSUB_EMULATOR_HOST') ?? optionalString(this.env, 'FIRESTORE_EMULATOR_HOST'));
  }

  /** --project, then GOOGLE_CLOUD_PROJECT / GCLOUD_PROJECT, then the emulators' local project, then ADC's project. */
  async project(): Promise<string> {
    if (this.resolvedProject) return this.resolvedProject;
    const given = this.givenProject();
    if (given) return (this.resolvedProject = given);
    try {
      return (this.resolvedProject = await (await this.pubsub()).auth.getProjectId());
    } catch (error) {
      throw new CliError(`no local stack is running and no Google Cloud project is given (Application Default Credentials name none: ${(error as Error).message.split('. ')[0]})`, NO_PROJECT_FIX);
    }
  }

  /**
   * A full resource id names its project: unless --project says otherwise, the command
   * works in that one, not in GOOGLE_CLOUD_PROJECT's or ADC's (an alert's command, pasted by
   * someone whose gcloud points elsewhere, must still reach the deployment it names).
   */
  adoptProject(project: string): void {
    if (!this.projectFlag) this.resolvedProject = project;
  }

  private givenProject(): string | undefined {
    return this.projectFlag ?? projectFromEnv(this.env) ?? (this.emulated ? LOCAL_PROJECT_ID : undefined);
  }

  /** Resolves the project and, off the emulators, checks the credentials: everything a read of `service` needs, before anything is done. */
  async ready(service: string): Promise<void> {
    await this.project();
    if (!this.emulated) await this.credentials(service);
  }

  async firestore(): Promise<Firestore> {
    const host = optionalString(this.env, 'FIRESTORE_EMULATOR_HOST');
    const projectId = await this.project();
    if (!host) await this.credentials('Firestore');
    const { Firestore } = await import('@google-cloud/firestore');
    this.firestoreClient ??= new Firestore({
      projectId,
      // ssl: false is how the client knows it talks to the emulator (no credentials needed).
      ...(host ? { host, ssl: false } : {}),
    });
    return this.firestoreClient;
  }

  /**
   * Fails with the fix when there are no Application Default Credentials. Asked first
   * because the Google clients, lacking them, throw from a callback no caller can catch,
   * which would end the process with a stack trace.
   */
  async credentials(service: string): Promise<void> {
    if (this.credentialsChecked) return;
    try {
      await (await this.pubsub()).auth.getClient();
      this.credentialsChecked = true;
    } catch (error) {
      throw new CliError(
        `${service}: no Google Cloud credentials (${(error as Error).message.split('. ')[0]})`,
        'for the local stack, start it with `npm start` in this folder (postload finds it by itself); for a deployment, run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS)',
      );
    }
  }

  /** The Google client libraries are loaded on first use, so `--help` and `check` start fast. */
  async pubsub(): Promise<PubSub> {
    const { PubSub } = await import('@google-cloud/pubsub');
    const host = optionalString(this.env, 'PUBSUB_EMULATOR_HOST');
    this.pubsubClient ??= new PubSub({
      ...(this.givenProject() ? { projectId: this.givenProject() } : {}),
      ...(host ? { apiEndpoint: host, emulatorMode: true } : {}),
    });
    return this.pubsubClient;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.firestoreClient?.terminate(), this.pubsubClient?.close()]);
  }
}
