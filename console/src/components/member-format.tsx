// Small shared pieces of the member screens: names, status colours and the query keys.
import { Badge, Text } from '@mantine/core';
import type { Schemas } from '../api';

export function memberName(m: { first_name: string | null; last_name: string | null; email?: string | null }): string {
  const name = [m.first_name, m.last_name].filter(Boolean).join(' ').trim();
  return name || m.email || 'Unnamed member';
}

const GONE = new Set(['merged', 'forgotten', 'deleted', 'closed']);

export function statusColor(status: string): string {
  const s = status.toLowerCase();
  if (s === 'good' || s === 'active') return 'teal';
  if (GONE.has(s)) return 'gray';
  return 'orange';
}

/** A member merged away or forgotten: nothing more can be done to them. */
export const isGone = (status: string) => GONE.has(status.toLowerCase());

/** `good` → `Good`. */
export const statusLabel = (status: string) => (status ? status.charAt(0).toUpperCase() + status.slice(1).replace(/_/g, ' ') : 'Unknown');

/** Every query about one member starts with this key, so that one invalidation refreshes them all. */
export const memberKey = (retailerId: string, userId: string) => [retailerId, 'member', userId] as const;

export type MemberView = Schemas['AdminMemberView'];
export type PointAccount = MemberView['point_accounts'][number];
export type UserOffer = MemberView['offers']['user_offers'][number];
export type MemberTier = MemberView['tiers'][number];

export const MODIFICATION_TYPES = ['deposit', 'spend', 'forced_spend', 'return', 'expiry', 'merge_in', 'merge_out'] as const;
export type ModificationType = (typeof MODIFICATION_TYPES)[number];

export const modificationLabel: Record<string, string> = {
  deposit: 'Deposit',
  spend: 'Spend',
  forced_spend: 'Forced spend',
  return: 'Return',
  expiry: 'Expiry',
  merge_in: 'Merged in',
  merge_out: 'Merged out',
};

export const offerStatusColor: Record<string, string> = { Issued: 'blue', Redeemed: 'teal', Revoked: 'red', Expired: 'gray', Locked: 'orange' };

/** An event type slug (`INCENTIVES_POINT_DEPOSIT`) as words (`Incentives point deposit`). */
export function slugWords(slug: string | null | undefined): string {
  if (!slug) return 'Event';
  const words = slug.toLowerCase().replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** An input's description in a colour that meets the contrast ratio (Mantine's dimmed does not). */
export function hint(text: string) {
  return (
    <Text span size="xs" c="gray.7">
      {text}
    </Text>
  );
}

/** A status badge (its colour in the border) whose text meets the contrast ratio. */
export function StatusBadge({ color, children }: { color: string; children: React.ReactNode }) {
  return (
    <Badge variant="outline" color={`${color}.7`} tt="none" styles={{ label: { color: 'var(--mantine-color-dark-7)' } }}>
      {children}
    </Badge>
  );
}
