import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { LOCAL_PROJECT_ID } from '../local/local-settings.js';
import { optionalString, projectId as projectFromEnv } from '../shared/settings.js';
import { CliError } from './errors.js';
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

  get topic(): string {
    return optionalString(this.env, 'SYNC_EVENTS_TOPIC') ?? 'sync-events';
  }

  /** terraform/pubsub.tf: the dead-letter topic and its pull subscription are "<topic>-dead-letter". */
  get deadLetterSubscription(): string {
    return optionalString(this.env, 'DEAD_LETTER_SUBSCRIPTION') ?? `${this.topic}-dead-letter`;
  }

  /** The processor's setting, with its default (functions/processor/config.ts). */
  get auditCollection(): string {
    return optionalString(this.env, 'AUDIT_COLLECTION') ?? 'syncEvents';
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
