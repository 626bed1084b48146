// What each role may do, in one table: every admin route names the permission
// it needs (http/admin/access.ts), and this decides whether a principal has it.

export const ROLES = ['owner', 'marketer', 'support', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * - read: every GET of the retailer's program, members, events, webhooks and simulations
 * - program: apply, diff, evaluate and simulate program documents
 * - members: adjust points, issue and revoke offers, move tiers, privacy requests, merge
 * - team: operators, their roles and the audit trail
 * - integrations: credentials and webhooks
 */
export const PERMISSIONS = ['read', 'program', 'members', 'team', 'integrations'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  owner: PERMISSIONS,
  marketer: ['read', 'program'],
  support: ['read', 'members'],
  viewer: ['read'],
};

/** Who a request acts as: the ADMIN_TOKEN, a signed-in operator, or an operator's personal token. */
export interface Principal {
  kind: 'admin_token' | 'operator' | 'operator_token';
  operatorId: string | null;
  email: string | null;
  superadmin: boolean;
  /** The permissions held at each retailer. */
  rights: Map<string, ReadonlySet<Permission>>;
  /** The operator's role at each of those retailers. */
  roles: Map<string, Role>;
  /** A cookie session's CSRF token (cookie-authenticated writes must send it back). */
  csrfToken?: string;
}

/** The permissions of a role, or of a token's role within its operator's (whichever allows less). */
export function permissionsOf(role: Role, cap?: Role | null): ReadonlySet<Permission> {
  const own = ROLE_PERMISSIONS[role];
  return new Set(cap ? own.filter((p) => ROLE_PERMISSIONS[cap].includes(p)) : own);
}

export type Decision = 'allowed' | 'not_found' | 'forbidden';

/**
 * Whether the principal may use `permission` at the retailer: a retailer it
 * holds no role at is not found (its existence is not disclosed), a role
 * without the permission is forbidden.
 */
export function decide(principal: Principal, retailerId: string, permission: Permission): Decision {
  if (principal.superadmin) return 'allowed';
  const rights = principal.rights.get(retailerId.toLowerCase());
  if (!rights) return 'not_found';
  return rights.has(permission) ? 'allowed' : 'forbidden';
}
