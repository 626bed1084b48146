// One webhook endpoint's deliveries, newest first, each with its attempts; redelivery (confirmed)
// for operators who manage integrations. Refreshed every few seconds while shown.
import { Badge, Button, Group, Select, Stack, Table, Text } from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api';
import { formatCount, formatTime } from '../format';
import { useRetailer } from '../session';
import { Empty, Loaded } from './states';
import { Confirm } from './ops-ui';

const PAGE = 20;
type Status = 'pending' | 'delivering' | 'succeeded' | 'failed';
const STATUS_COLOR: Record<Status, string> = { pending: 'yellow', delivering: 'blue', succeeded: 'green', failed: 'red' };

type Delivery = NonNullable<Awaited<ReturnType<typeof fetchDeliveries>>>['deliveries'][number];
const fetchDeliveries = (retailerId: string, webhookId: string, skip: number, status: Status | null) =>
  ok(api.GET('/admin/tenants/{retailer_id}/webhooks/{webhook_id}/deliveries', { params: { path: { retailer_id: retailerId, webhook_id: webhookId }, query: { skip, take: PAGE, ...(status ? { status } : {}) } } }));

function Attempts({ delivery }: { delivery: Delivery }) {
  const { timeZone } = useRetailer();
  if (delivery.attempts.length === 0) return <Text size="sm" c="gray.7">No attempt yet</Text>;
  return (
    <Stack gap={2} component="ol" m={0} p={0} style={{ listStyle: 'none' }}>
      {delivery.attempts.map((a, i) => (
        <Text key={i} size="sm" component="li">
          <Badge size="sm" variant="dot" color={a.status_code !== null && a.status_code < 300 ? 'green' : 'red'} mr={6}>
            {a.status_code ?? 'no answer'}
          </Badge>
          {formatTime(a.at, timeZone)} · {formatCount(a.duration_ms)} ms{a.error ? ` · ${a.error}` : ''}
        </Text>
      ))}
    </Stack>
  );
}

export function Deliveries({ endpoint }: { endpoint: { id: string; url: string } }) {
  const { retailerId, timeZone, can } = useRetailer();
  const client = useQueryClient();
  const [skip, setSkip] = useState(0);
  const [status, setStatus] = useState<Status | null>(null);
  const [retrying, setRetrying] = useState<Delivery | null>(null);
  const key = [retailerId, 'webhooks', endpoint.id, 'deliveries'];
  const deliveries = useQuery({
    queryKey: [...key, skip, status],
    queryFn: () => fetchDeliveries(retailerId, endpoint.id, skip, status),
    refetchInterval: 3000,
    placeholderData: keepPreviousData,
  });
  const retry = useMutation({
    mutationFn: (d: Delivery) => ok(api.POST('/admin/tenants/{retailer_id}/webhooks/{webhook_id}/deliveries/{event_id}/retry', { params: { path: { retailer_id: retailerId, webhook_id: endpoint.id, event_id: d.event_id } } })),
    onSuccess: async () => {
      setRetrying(null);
      await client.invalidateQueries({ queryKey: key });
    },
  });

  return (
    <Stack gap="sm">
      <Group justify="space-between" align="flex-end">
        <Select
          label="Delivery status"
          size="xs"
          w={180}
          data={[
            { value: 'all', label: 'All' },
            { value: 'pending', label: 'Pending' },
            { value: 'delivering', label: 'Delivering' },
            { value: 'succeeded', label: 'Succeeded' },
            { value: 'failed', label: 'Failed' },
          ]}
          value={status ?? 'all'}
          allowDeselect={false}
          onChange={(v) => {
            setSkip(0);
            setStatus(v && v !== 'all' ? (v as Status) : null);
          }}
        />
        <Button size="xs" variant="default" onClick={() => deliveries.refetch()} loading={deliveries.isFetching && !deliveries.isPending}>
          Refresh
        </Button>
      </Group>
      <Loaded query={deliveries}>
        {(data) =>
          data.deliveries.length === 0 ? (
            <Empty>{skip === 0 ? (status ? `No ${status} delivery.` : 'Nothing has been sent to this endpoint yet: events recorded from now on will be.') : 'No more deliveries.'}</Empty>
          ) : (
            <Table.ScrollContainer minWidth={640}>
              <Table verticalSpacing="xs" aria-label={`Deliveries to ${endpoint.url}`}>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Event</Table.Th>
                    <Table.Th>Status</Table.Th>
                    <Table.Th>Attempts</Table.Th>
                    {can('integrations') && <Table.Th>Actions</Table.Th>}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.deliveries.map((d) => (
                    <Table.Tr key={d.event_id}>
                      <Table.Td>
                        <Text size="sm" fw={500}>
                          {d.event_type}
                        </Text>
                        <Text size="xs" c="gray.7">
                          {d.event_id}
                        </Text>
                      </Table.Td>
                      <Table.Td miw={130}>
                        <Badge color={STATUS_COLOR[d.status as Status]} variant="dot">
                          {d.status}
                        </Badge>
                        {d.next_attempt_at && (
                          <Text size="xs" c="gray.7">
                            next {formatTime(d.next_attempt_at, timeZone)}
                          </Text>
                        )}
                      </Table.Td>
                      <Table.Td>
                        <Attempts delivery={d} />
                      </Table.Td>
                      {can('integrations') && (
                        <Table.Td>
                          <Button size="xs" variant="default" onClick={() => setRetrying(d)} disabled={d.status === 'delivering'}>
                            Redeliver
                          </Button>
                        </Table.Td>
                      )}
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )
        }
      </Loaded>
      {(skip > 0 || (deliveries.data?.deliveries.length ?? 0) === PAGE) && (
        <Group justify="space-between">
          <Button size="xs" variant="default" disabled={skip === 0} onClick={() => setSkip(Math.max(0, skip - PAGE))}>
            Newer
          </Button>
          <Text size="sm" c="gray.7">
            {formatCount(skip + 1)}–{formatCount(skip + (deliveries.data?.deliveries.length ?? 0))}
          </Text>
          <Button size="xs" variant="default" disabled={(deliveries.data?.deliveries.length ?? 0) < PAGE} onClick={() => setSkip(skip + PAGE)}>
            Older
          </Button>
        </Group>
      )}
      <Confirm
        opened={!!retrying}
        title="Send this delivery again?"
        confirmLabel="Redeliver now"
        pending={retry.isPending}
        error={retry.error}
        onConfirm={() => retrying && retry.mutate(retrying)}
        onClose={() => {
          setRetrying(null);
          retry.reset();
        }}
      >
        <Text size="sm">
          The event {retrying?.event_type} ({retrying?.event_id}) is sent to {endpoint.url} again now, signed with the endpoint's current secret. The receiver should ignore an event id it has already handled.
        </Text>
      </Confirm>
    </Stack>
  );
}
