import type { Deadline } from '../../processor/clients/http-retry.js';
import type { SecretStore } from './secret-store.js';

/** What every vendor's connect and check share: the secret store, the run's deadline, a clock to wait on, a voice. */
export interface Io {
  store: SecretStore;
  deadline: Deadline;
  sleep: (ms: number) => Promise<void>;
  /** A line of progress for the person waiting (stderr). */
  say: (text: string) => void;
}
