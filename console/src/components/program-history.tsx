// The applies of the program, newest first, from the audit trail (owners: the audit API needs `team`).
import { Button, Group, Stack, Table, Title } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { api, ok } from '../api';
import { formatTime } from '../format';
import { useRetailer } from '../session';
import { Empty, Failure, Pending } from './states';

export function ProgramHistory() {
  const { retailerId, timeZone } = useRetailer();
  const history = useInfiniteQuery({
    queryKey: [retailerId, 'audit', 'program.apply'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => ok(api.GET('/admin/tenants/{retailer_id}/audit', { params: { path: { retailer_id: retailerId }, query: { action: 'program.apply', limit: 20, before: pageParam } } })),
    getNextPageParam: (page) => page.next_before ?? undefined,
  });
  const records = history.data?.pages.flatMap((p) => p.records) ?? [];
  return (
    <Stack component="section" aria-label="History of applies" gap="sm">
      <Title order={3} size="h4">
        History of applies
      </Title>
      {history.isPending ? (
        <Pending />
      ) : history.error ? (
        <Failure error={history.error} retry={() => history.refetch()} />
      ) : records.length === 0 ? (
        <Empty>The program has not been applied through the admin API yet.</Empty>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>When</Table.Th>
                <Table.Th>Who</Table.Th>
                <Table.Th>From address</Table.Th>
                <Table.Th>Request</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {records.map((r) => {
                return (
                  <Table.Tr key={r.id}>
                    <Table.Td>{formatTime(r.at, timeZone)}</Table.Td>
                    <Table.Td>{r.actor.email ?? (r.actor.type === 'admin_token' ? 'ADMIN_TOKEN' : r.actor.type.replace('_', ' '))}</Table.Td>
                    <Table.Td>{r.address ?? '—'}</Table.Td>
                    <Table.Td>{r.request_id ?? '—'}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {history.hasNextPage && (
        <Group>
          <Button variant="default" size="xs" onClick={() => history.fetchNextPage()} loading={history.isFetchingNextPage}>
            Older applies
          </Button>
        </Group>
      )}
    </Stack>
  );
}
