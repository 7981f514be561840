import { GoogleAuth } from 'google-auth-library';
import { TransientError } from '../errors.js';
import { withinDeadline, type Deadline } from './http-retry.js';

/** Where a Google API call gets its `Authorization: Bearer` token. */
export interface AccessTokenSource {
  token(deadline: Deadline): Promise<string>;
}

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * The token the local stand-ins accept (fake Cloud Run, fake Composer). A loopback http://
 * address never gets a real Google token: whatever listens there would be handed the
 * runtime's credentials.
 */
export const LOCAL_STAND_IN_TOKEN = 'local-stand-in-token';

/** True for http://127.0.0.1, http://localhost and http://[::1] (any port): only ever a local stand-in. */
export function isLoopbackHttp(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  } catch {
    return false;
  }
}

/**
 * OAuth access tokens of the runtime's service account (Application Default Credentials:
 * on Cloud Run functions, the metadata server), scope cloud-platform, from
 * google-auth-library, which caches each token until shortly before it expires. A failure
 * to get one is transient: the event is delivered again.
 */
export function runtimeAccessTokens(auth: Pick<GoogleAuth, 'getAccessToken'> = new GoogleAuth({ scopes: [CLOUD_PLATFORM] })): AccessTokenSource {
  return {
    async token(deadline) {
      let token: string | null | undefined;
      try {
        token = await withinDeadline(auth.getAccessToken(), deadline, 'get a Google access token');
      } catch (error) {
        if (error instanceof TransientError) throw error;
        throw new TransientError(`no Google access token for the runtime's service account (${(error as Error).message})`, { system: 'Google auth', cause: error });
      }
      if (!token) throw new TransientError("no Google access token for the runtime's service account", { system: 'Google auth' });
      return token;
    },
  };
}

/** Always the same token: the local stand-ins. */
export function fixedAccessToken(token = LOCAL_STAND_IN_TOKEN): AccessTokenSource {
  return { token: async () => token };
}

/** The runtime's tokens for a real Google endpoint; the stand-in token for a loopback http:// one. */
export function accessTokensFor(baseUrl: string, runtime: () => AccessTokenSource): AccessTokenSource {
  return isLoopbackHttp(baseUrl) ? fixedAccessToken() : runtime();
}
