// A typed client for every Loyalist surface: one openapi-fetch client per
// surface, each sending that surface's credentials; paths, bodies and answers
// are typed from the OpenAPI document (./schema.ts, generated).
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { components, operations, paths } from './schema.js';

export interface LoyalistCredentials {
  /** Core: the appkey and its secret. */
  core?: { appkey: string; secret: string };
  /** Connect: appkey_connect and secret_connect. */
  connect?: { appkey: string; secret: string };
  /** Cloud POS: the cloudpos_authorization token. */
  pos?: string;
  /** The admin API: ADMIN_TOKEN. */
  admin?: string;
}

export interface LoyalistClient {
  core: Client<paths>;
  connect: Client<paths>;
  pos: Client<paths>;
  admin: Client<paths>;
  /** The operations endpoints (/healthz, /readyz, /metrics): no credentials. */
  ops: Client<paths>;
}

const basic = ({ appkey, secret }: { appkey: string; secret: string }) => `Basic ${btoa(`${appkey}:${secret}`)}`;

/** A client per surface for the server at `baseUrl`, e.g. `http://localhost:8080`. */
export function createLoyalistClient(baseUrl: string, credentials: LoyalistCredentials, options: Omit<ClientOptions, 'baseUrl' | 'headers'> = {}): LoyalistClient {
  const client = (authorization?: string) => createClient<paths>({ ...options, baseUrl, headers: authorization ? { authorization } : {} });
  return {
    core: client(credentials.core && basic(credentials.core)),
    connect: client(credentials.connect && basic(credentials.connect)),
    pos: client(credentials.pos),
    admin: client(credentials.admin && `Bearer ${credentials.admin}`),
    ops: client(),
  };
}
