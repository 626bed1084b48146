// The member's campaign progress (each behaviour's progress toward its goal) and privacy requests.
import { Card, Group, Progress, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { formatCount, formatTime } from '../format';
import { useRetailer } from '../session';
import { StatusBadge, type MemberView } from './member-format';
import { Empty } from './states';

const campaignState: Record<string, string> = {
  qualified: 'Qualified',
  opted_in: 'Opted in',
  in_progress: 'In progress',
  completed: 'Completed',
  ineligible: 'Ineligible',
  ended: 'Ended',
};

export function MemberCampaigns({ view }: { view: MemberView }) {
  const { timeZone } = useRetailer();
  if (view.campaigns.length === 0) return <Empty>The member qualifies for no running campaign.</Empty>;
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }}>
      {view.campaigns.map((c) => (
        <Card withBorder key={c.campaign_id}>
          <Group justify="space-between" mb={4}>
            <Title order={3} size="h5">
              {c.name}
            </Title>
            <StatusBadge color={c.state === 'completed' ? 'teal' : c.state === 'ineligible' || c.state === 'ended' ? 'gray' : 'indigo'}>{campaignState[c.state] ?? c.state}</StatusBadge>
          </Group>
          <Text size="xs" c="gray.7" mb="sm">
            {formatTime(c.start_date, timeZone)} to {c.end_date ? formatTime(c.end_date, timeZone) : 'no end'}
            {c.opted_in ? ' · opted in' : ''}
          </Text>
          {c.behaviors.length === 0 ? (
            <Empty>No behaviours.</Empty>
          ) : (
            <Stack gap="sm">
              {c.behaviors.map((b) => {
                const label = `${formatCount(b.progress)} of ${formatCount(b.goal)}`;
                return (
                  <Stack key={b.behavior_id} gap={2}>
                    <Group justify="space-between" gap="xs">
                      <Text size="sm">{b.name}</Text>
                      <Text size="sm" c="gray.7">
                        {label}
                        {b.achieved > 0 ? ` · achieved ${formatCount(b.achieved)}×` : ''}
                        {b.active ? '' : ' · no longer achievable'}
                      </Text>
                    </Group>
                    <Progress value={b.goal > 0 ? Math.min(100, (b.progress / b.goal) * 100) : 0} aria-label={`${b.name}: ${label}`} color={b.active ? undefined : 'gray'} />
                  </Stack>
                );
              })}
            </Stack>
          )}
        </Card>
      ))}
    </SimpleGrid>
  );
}

export function MemberPrivacy({ view }: { view: MemberView }) {
  const { timeZone } = useRetailer();
  if (view.privacy_requests.length === 0) return <Empty>No privacy request has been made for this member.</Empty>;
  return (
    <Table.ScrollContainer scrollAreaProps={{ viewportProps: { tabIndex: 0 } }} minWidth={640}>
      <Table striped aria-label="Privacy requests">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Request</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Made</Table.Th>
            <Table.Th>Due</Table.Th>
            <Table.Th>Done or cancelled</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {view.privacy_requests.map((r) => (
            <Table.Tr key={r.id}>
              <Table.Td style={{ textTransform: 'capitalize' }}>{r.type}</Table.Td>
              <Table.Td>{r.status}</Table.Td>
              <Table.Td>{formatTime(r.created_at, timeZone)}</Table.Td>
              <Table.Td>{formatTime(r.due_at, timeZone)}</Table.Td>
              <Table.Td>{r.completed_at ? formatTime(r.completed_at, timeZone) : r.cancelled_at ? `cancelled ${formatTime(r.cancelled_at, timeZone)}` : '—'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
