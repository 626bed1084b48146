// Finding a member: one search box (an email, a phone number or an external id exactly, or the
// start of a name), the query kept in the URL (?q=) so that back comes back to the results.
import { Anchor, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, ok } from '../api';
import { Empty, Loaded } from '../components/states';
import { hint, memberName, StatusBadge, statusColor, statusLabel } from '../components/member-format';
import { formatCount, formatTime } from '../format';
import { useRetailer } from '../session';

export default function Members() {
  const { retailerId, timeZone } = useRetailer();
  const [params, setParams] = useSearchParams();
  const q = (params.get('q') ?? '').trim();
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);

  const search = useQuery({
    queryKey: [retailerId, 'members', 'search', q],
    enabled: q.length > 0,
    queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/members', { params: { path: { retailer_id: retailerId }, query: { q, limit: 100 } } })),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = text.trim();
    setParams(next ? { q: next } : {});
  };

  return (
    <Stack>
      <Title order={2}>Members</Title>
      <form onSubmit={submit} role="search">
        <Group align="flex-end" wrap="nowrap">
          <TextInput
            label="Search members"
            description={hint('An email, a phone number or an external id exactly, or the start of a name')}
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            maxLength={255}
            style={{ flex: 1 }}
            autoFocus
          />
          <Button type="submit">Search</Button>
        </Group>
      </form>
      {!q ? (
        <Empty>Search for a member to see their points, offers and history.</Empty>
      ) : (
        <Loaded query={search}>
          {(data) =>
            data.members.length === 0 ? (
              <Empty>No active member matches “{q}”.</Empty>
            ) : (
              <Stack gap="xs">
                <Text size="sm" c="gray.7">
                  {data.total > data.members.length
                    ? `The first ${formatCount(data.members.length)} of ${formatCount(data.total)} members matching “${q}”: narrow the search to see the others.`
                    : `${formatCount(data.total)} ${data.total === 1 ? 'member matches' : 'members match'} “${q}”`}
                </Text>
                <Table.ScrollContainer scrollAreaProps={{ viewportProps: { tabIndex: 0 } }} minWidth={820}>
                  <Table striped highlightOnHover aria-label="Members found">
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>Name</Table.Th>
                        <Table.Th>Email</Table.Th>
                        <Table.Th>External id</Table.Th>
                        <Table.Th>Phone</Table.Th>
                        <Table.Th>Status</Table.Th>
                        <Table.Th>Joined</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {data.members.map((m) => (
                        <Table.Tr key={m.user_id}>
                          <Table.Td>
                            <Anchor component={Link} to={`/r/${retailerId}/members/${m.user_id}`} fw={500}>
                              {memberName(m)}
                            </Anchor>
                          </Table.Td>
                          <Table.Td>{m.email ?? '—'}</Table.Td>
                          <Table.Td>{m.external_id ?? '—'}</Table.Td>
                          <Table.Td>{m.phone ?? '—'}</Table.Td>
                          <Table.Td>
                            <StatusBadge color={statusColor(m.account_status)}>
                              {statusLabel(m.account_status)}
                            </StatusBadge>
                          </Table.Td>
                          <Table.Td>{formatTime(m.created_at, timeZone)}</Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Table.ScrollContainer>
              </Stack>
            )
          }
        </Loaded>
      )}
    </Stack>
  );
}
