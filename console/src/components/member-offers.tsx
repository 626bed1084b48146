// The member's offer wallet: each user offer with its status, and (for a role that may change
// members) revoking one, confirmed in a modal.
import { Button, Stack, Table, Text, Textarea } from '@mantine/core';
import { useState } from 'react';
import { api, ok } from '../api';
import { formatCount, formatTime } from '../format';
import { useRetailer } from '../session';
import { ActionModal, fieldError, useMemberChange } from './member-actions';
import { hint, memberName, offerStatusColor, StatusBadge, type MemberView, type UserOffer } from './member-format';
import { Empty } from './states';

function Revoke({ view, offer, onClose, onDone }: { view: MemberView; offer: UserOffer | null; onClose: () => void; onDone: (t: string) => void }) {
  const { retailerId } = useRetailer();
  const userId = view.profile.user_id;
  const [reason, setReason] = useState('');
  const title = offer?.internal_title ?? 'the offer';
  const change = useMemberChange(
    userId,
    (o: UserOffer) =>
      ok(
        api.DELETE('/admin/tenants/{retailer_id}/members/{user_id}/offers/{user_offer_id}', {
          params: { path: { retailer_id: retailerId, user_id: userId, user_offer_id: o.user_offer_id } },
          body: reason.trim() ? { reason: reason.trim() } : {},
        }),
      ),
    (_r, o) => {
      onDone(`Revoked “${o.internal_title ?? 'the offer'}” (code ${o.redemption_code}): it can no longer be redeemed.`);
      setReason('');
      onClose();
    },
  );
  return (
    <ActionModal opened={!!offer} onClose={onClose} title="Revoke an offer" confirm="Revoke offer" danger busy={change.isPending} onConfirm={() => offer && change.mutate(offer)} error={change.error} fields={['reason']}>
      <Text size="sm">
        {memberName(view.profile)}'s “{title}” (code {offer?.redemption_code}) can no longer be redeemed. This cannot be undone; the reason is kept with the offer.
      </Text>
      <Textarea label="Reason" description={hint('Optional: kept with the offer and in the audit trail')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} error={fieldError(change.error, 'reason')} maxLength={500} autosize minRows={2} />
    </ActionModal>
  );
}

export function MemberOffers({ view, onDone }: { view: MemberView; onDone: (t: string) => void }) {
  const { timeZone, can } = useRetailer();
  const [revoking, setRevoking] = useState<UserOffer | null>(null);
  const offers = view.offers.user_offers;
  if (offers.length === 0) return <Empty>The member holds no offer.</Empty>;
  const revocable = (o: UserOffer) => o.status_description === 'Issued' || o.status_description === 'Locked';
  return (
    <Stack gap="xs">
      {view.offers.total > offers.length && (
        <Text size="sm" c="gray.7">
          The newest {formatCount(offers.length)} of {formatCount(view.offers.total)} offers
        </Text>
      )}
      <Table.ScrollContainer scrollAreaProps={{ viewportProps: { tabIndex: 0 } }} minWidth={900}>
        <Table striped aria-label="Offers">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Offer</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Code</Table.Th>
              <Table.Th>Acquired</Table.Th>
              <Table.Th>Redeemable until</Table.Th>
              <Table.Th ta="right">Uses left</Table.Th>
              <Table.Th>Source</Table.Th>
              {can('members') && <Table.Th>Action</Table.Th>}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {offers.map((o) => (
              <Table.Tr key={o.user_offer_id} data-offer={o.user_offer_id}>
                <Table.Td fw={500}>{o.internal_title ?? 'Untitled offer'}</Table.Td>
                <Table.Td>
                  <StatusBadge color={offerStatusColor[o.status_description] ?? 'gray'}>
                    {o.status_description}
                  </StatusBadge>
                  {o.revoke_reason && (
                    <Text size="xs" c="gray.7">
                      {o.revoke_reason}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td ff="monospace">{o.redemption_code}</Table.Td>
                <Table.Td>{formatTime(o.acquired_at, timeZone)}</Table.Td>
                <Table.Td>{o.redemption_end_date ? formatTime(o.redemption_end_date, timeZone) : 'No end'}</Table.Td>
                <Table.Td ta="right">
                  {formatCount(o.remaining_uses)} of {formatCount(o.quantity)}
                </Table.Td>
                <Table.Td>{o.source}</Table.Td>
                {can('members') && (
                  <Table.Td>
                    {revocable(o) && (
                      <Button size="xs" variant="default" color="red" onClick={() => setRevoking(o)} aria-label={`Revoke ${o.internal_title ?? 'offer'} (code ${o.redemption_code})`}>
                        Revoke
                      </Button>
                    )}
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {can('members') && <Revoke view={view} offer={revoking} onClose={() => setRevoking(null)} onDone={onDone} />}
    </Stack>
  );
}
