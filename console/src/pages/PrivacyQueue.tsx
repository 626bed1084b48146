// The retailer's privacy requests (forget, export, restrict, reinstate), newest first, filtered by
// status and paged; each links to its member. Requests are made and cancelled on the member's page.
import { Anchor, Badge, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api, ok } from '../api';
import { Pager, useCursorPages } from '../components/ops-ui';
import { Empty, Loaded } from '../components/states';
import { formatTime } from '../format';
import { useRetailer } from '../session';

const STATUSES = ['pending', 'processing', 'completed', 'cancelled', 'failed'] as const;
const COLOR: Record<string, string> = { pending: 'yellow', processing: 'blue', completed: 'green', cancelled: 'gray', failed: 'red' };
const TYPE: Record<string, string> = { forget: 'Forget', export: 'Export', restrict: 'Restrict', reinstate: 'Reinstate' };
const PAGE = 50;

export default function PrivacyQueue() {
  const { retailerId, timeZone } = useRetailer();
  const [params, setParams] = useSearchParams();
  const status = (STATUSES as readonly string[]).includes(params.get('status') ?? '') ? (params.get('status') as (typeof STATUSES)[number]) : '';
  const pages = useCursorPages();
  const requests = useQuery({
    queryKey: [retailerId, 'privacy-requests', status, pages.before],
    queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/privacy-requests', { params: { path: { retailer_id: retailerId }, query: { limit: PAGE, ...(status ? { status } : {}), ...(pages.before ? { before: pages.before } : {}) } } })),
    placeholderData: keepPreviousData,
  });

  return (
    <Stack>
      <Title order={2}>Privacy requests</Title>
      <Group align="flex-end">
        <Select
          label="Status"
          w={200}
          data={[{ value: '', label: 'Any status' }, ...STATUSES.map((s) => ({ value: s, label: s[0].toUpperCase() + s.slice(1) }))]}
          value={status}
          allowDeselect={false}
          onChange={(v) => {
            pages.reset();
            setParams(v ? { status: v } : {}, { replace: true });
          }}
        />
        <Text size="sm" c="gray.7" pb={6}>
          Requests are made and cancelled on the member’s page.
        </Text>
      </Group>
      <Loaded query={requests}>
        {(data) =>
          data.requests.length === 0 ? (
            <Empty>{status ? `No ${status} privacy request.` : 'No privacy request yet.'}</Empty>
          ) : (
            <Stack>
              <Table.ScrollContainer minWidth={760}>
                <Table striped aria-label="Privacy requests">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Member</Table.Th>
                      <Table.Th>Request</Table.Th>
                      <Table.Th>Status</Table.Th>
                      <Table.Th>Made</Table.Th>
                      <Table.Th>Due</Table.Th>
                      <Table.Th>Ended</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {data.requests.map((r) => {
                      const name = [r.first_name, r.last_name].filter(Boolean).join(' ');
                      return (
                        <Table.Tr key={r.id}>
                          <Table.Td>
                            <Anchor component={Link} to={`/r/${retailerId}/members/${r.user_id}`} size="sm">
                              {name || r.email || 'Forgotten member'}
                            </Anchor>
                            {name && r.email && (
                              <Text size="xs" c="gray.7">
                                {r.email}
                              </Text>
                            )}
                          </Table.Td>
                          <Table.Td>{TYPE[r.type] ?? r.type}</Table.Td>
                          <Table.Td miw={130}>
                            <Badge color={COLOR[r.status] ?? "gray"} variant="dot" tt="none" style={{ overflow: "visible" }}>
                              {r.status}
                            </Badge>
                          </Table.Td>
                          <Table.Td>{formatTime(r.created_at, timeZone)}</Table.Td>
                          <Table.Td>{formatTime(r.due_at, timeZone)}</Table.Td>
                          <Table.Td>{r.completed_at ? `completed ${formatTime(r.completed_at, timeZone)}` : r.cancelled_at ? `cancelled ${formatTime(r.cancelled_at, timeZone)}` : '—'}</Table.Td>
                        </Table.Tr>
                      );
                    })}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
              <Pager what="Privacy request" page={pages.page} hasOlder={!!data.next_before} onOlder={() => data.next_before && pages.older(data.next_before)} onNewer={pages.newer} />
            </Stack>
          )
        }
      </Loaded>
    </Stack>
  );
}
