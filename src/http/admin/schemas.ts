import { DomainEventSchema } from '../../modules/outbox/catalog.js';
// The admin API's answers: retailers, their credentials (secrets only where
// they are issued) and program documents.
import { Type } from '@sinclair/typebox';
import { ProgramSchema } from '../../modules/program/service.js';
import { component, IsoTime, Nullable, Obj, OneOf, Uuid } from '../contract.js';

/** A retailer (a tenant) as the list names it. */
/** A domain event as the feed answers it (docs/events.md has the payload of each type). */
export const DomainEvent = component('DomainEvent', DomainEventSchema);

export const AdminTenant = component('AdminTenant', Obj({ retailer_id: Uuid, name: Type.String(), created_at: IsoTime }));

const CredentialFields = {
  credential_id: Uuid,
  retailer_id: Uuid,
  surface: OneOf(['core', 'connect', 'pos'], { description: 'the API the credential opens' }),
  key: Type.String({ description: 'Core appkey, Connect appkey_connect, or the part of the POS token before the dot' }),
  created_at: IsoTime,
  revoked_at: Nullable(IsoTime),
  expires_at: Nullable(Type.String({ description: 'ISO 8601 instant, set when the credential was rotated: its secret works until then' })),
};

/** A credential without its secret. */
export const AdminCredential = component('AdminCredential', Obj(CredentialFields));

/** A set of credentials for every surface, with their secrets: shown once, when issued. */
export const IssuedSecrets = {
  appkey: Type.String({ description: 'Core: the key (also the path segment :appkey)' }),
  secret: Type.String({ description: 'Core: the secret' }),
  appkey_connect: Type.String({ description: 'Connect: the key' }),
  secret_connect: Type.String({ description: 'Connect: the secret' }),
  cloudpos_authorization: Type.String({ description: 'Cloud POS: the whole Authorization header value (`key.secret`)' }),
};

/** A rotated credential: the new one with its secret under its surface's names, and the one it replaces. */
export const AdminRotatedCredential = Obj({
  ...CredentialFields,
  appkey: Type.Optional(IssuedSecrets.appkey),
  secret: Type.Optional(IssuedSecrets.secret),
  appkey_connect: Type.Optional(IssuedSecrets.appkey_connect),
  secret_connect: Type.Optional(IssuedSecrets.secret_connect),
  cloudpos_authorization: Type.Optional(IssuedSecrets.cloudpos_authorization),
  replaced: AdminCredential,
});

/** A retailer's configuration as a program document (SPEC §6): what PUT …/program takes and GET …/program answers. */
export const Program = component('Program', ProgramSchema);
