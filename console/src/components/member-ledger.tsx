// The member's point ledger (GET …/ledger), newest first, filtered by account and kind, a page at
// a time: "Load more" asks for the page before `next_before`.
import { Button, Group, MultiSelect, Stack, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api';
import { formatAmount, formatCount, formatTime } from '../format';
import { useRetailer } from '../session';
import { memberKey, modificationLabel, MODIFICATION_TYPES, type MemberView, type ModificationType } from './member-format';
import { Empty, Failure, Pending } from './states';

export const LEDGER_PAGE = 25;

export function MemberLedger({ view }: { view: MemberView }) {
  const { retailerId, timeZone } = useRetailer();
  const userId = view.profile.user_id;
  const [accounts, setAccounts] = useState<string[]>([]);
  const [kinds, setKinds] = useState<string[]>([]);

  const ledger = useInfiniteQuery({
    queryKey: [...memberKey(retailerId, userId), 'ledger', accounts, kinds],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) =>
      ok(
        api.GET('/admin/tenants/{retailer_id}/members/{user_id}/ledger', {
          params: {
            path: { retailer_id: retailerId, user_id: userId },
            query: {
              limit: LEDGER_PAGE,
              before: pageParam,
              point_account_id: accounts.length ? accounts : undefined,
              modification_type: kinds.length ? (kinds as ModificationType[]) : undefined,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_before ?? undefined,
  });
  const entries = ledger.data?.pages.flatMap((p) => p.entries) ?? [];

  return (
    <Stack>
      <Group justify="space-between" align="flex-end">
        <Title order={3} size="h4">
          Ledger
        </Title>
        <Text size="sm" c="gray.7">
          {formatCount(view.ledger.total)} entries in all
        </Text>
      </Group>
      <Group grow align="flex-start" preventGrowOverflow={false}>
        <MultiSelect label="Point accounts" placeholder={accounts.length ? undefined : 'Every account'} data={view.point_accounts.map((a) => ({ value: a.point_account_id, label: a.name }))} value={accounts} onChange={setAccounts} clearable searchable />
        <MultiSelect label="Kinds" placeholder={kinds.length ? undefined : 'Every kind'} data={MODIFICATION_TYPES.map((t) => ({ value: t, label: modificationLabel[t] }))} value={kinds} onChange={setKinds} clearable />
      </Group>
      {ledger.isPending ? (
        <Pending />
      ) : ledger.error && !ledger.data ? (
        <Failure error={ledger.error} retry={() => ledger.refetch()} />
      ) : entries.length === 0 ? (
        <Empty>{accounts.length || kinds.length ? 'No entry matches these filters.' : 'No points have moved yet.'}</Empty>
      ) : (
        <>
          <Table.ScrollContainer scrollAreaProps={{ viewportProps: { tabIndex: 0 } }} minWidth={900}>
            <Table striped aria-label="Ledger">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>When</Table.Th>
                  <Table.Th>Account</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th ta="right">Change</Table.Th>
                  <Table.Th ta="right">Balance after</Table.Th>
                  <Table.Th>Source or reason</Table.Th>
                  <Table.Th>By</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {entries.map((e) => (
                  <Table.Tr key={e.id}>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(e.effective_at, timeZone)}</Table.Td>
                    <Table.Td>{e.account_name}</Table.Td>
                    <Table.Td>{modificationLabel[e.modification_type] ?? e.modification_type}</Table.Td>
                    <Table.Td ta="right" fw={600} c={e.amount.startsWith('-') ? 'red.8' : 'teal.9'}>
                      {e.amount.startsWith('-') ? formatAmount(e.amount) : `+${formatAmount(e.amount)}`}
                    </Table.Td>
                    <Table.Td ta="right">{formatAmount(e.balance_after)}</Table.Td>
                    <Table.Td>
                      {[e.point_source_name, e.reference_type === 'manual_adjustment' ? null : e.reference_type].filter(Boolean).join(' · ')}
                      {e.reference_id ? (
                        <Text size="sm" c="gray.7" component="span" display="block">
                          {e.reference_type === 'manual_adjustment' ? `Adjusted by hand: ${e.reference_id}` : e.reference_id}
                        </Text>
                      ) : null}
                    </Table.Td>
                    <Table.Td>{e.request_id ?? '—'}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {ledger.error && <Failure error={ledger.error} retry={() => ledger.fetchNextPage()} />}
          <Group justify="space-between">
            <Text size="sm" c="gray.7">
              {formatCount(entries.length)} shown
            </Text>
            {ledger.hasNextPage && (
              <Button variant="default" onClick={() => ledger.fetchNextPage()} loading={ledger.isFetchingNextPage}>
                Load more
              </Button>
            )}
          </Group>
        </>
      )}
    </Stack>
  );
}
