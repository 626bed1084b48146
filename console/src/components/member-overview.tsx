// The member's profile, identifiers, phone numbers, tags and tiers (Overview), and their point
// accounts with the lots that expire or are pending (Points).
import { Badge, Card, Group, Progress, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { formatAmount, formatCount, formatTime, percent } from '../format';
import { useRetailer } from '../session';
import type { MemberView } from './member-format';
import { Empty } from './states';

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Group gap="xs" wrap="nowrap" align="flex-start">
      <Text size="sm" c="gray.7" w={150} style={{ flexShrink: 0, wordBreak: 'break-word' }}>
        {label}
      </Text>
      <Text size="sm" style={{ wordBreak: 'break-word' }}>
        {children}
      </Text>
    </Group>
  );
}

export function MemberOverview({ view }: { view: MemberView }) {
  const { timeZone } = useRetailer();
  const p = view.profile;
  const address = [p.address, p.address2, p.city, p.state, p.zip, p.country].filter(Boolean).join(', ');
  const tags = Object.entries(view.tags);
  const custom = Object.entries(p.user_profile ?? {}).filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0));
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }}>
      <Card withBorder>
        <Title order={3} size="h4" mb="sm">
          Profile
        </Title>
        <Stack gap={6}>
          <Field label="User id">{p.user_id}</Field>
          <Field label="Email">{p.email ?? '—'}</Field>
          <Field label="Date of birth">{p.dob ?? '—'}</Field>
          <Field label="Gender">{p.gender ?? '—'}</Field>
          <Field label="Address">{address || '—'}</Field>
          <Field label="Locale">{p.locale ?? '—'}</Field>
          <Field label="Opted in">{p.opted_in ? 'Yes' : 'No'}</Field>
          <Field label="Joined">{formatTime(p.created_at, timeZone)}</Field>
          <Field label="Updated">{formatTime(p.updated_at, timeZone)}</Field>
          {custom.map(([k, v]) => (
            <Field key={k} label={k}>
              {Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? Object.entries(v as object).map(([a, b]) => `${a}: ${String(b)}`).join(', ') : String(v)}
            </Field>
          ))}
        </Stack>
      </Card>
      <Stack>
        <Card withBorder>
          <Title order={3} size="h4" mb="sm">
            Tiers
          </Title>
          {view.tiers.length === 0 ? (
            <Empty>Not in any tier system.</Empty>
          ) : (
            <Stack>
              {view.tiers.map((t) => {
                const next = t.next_level;
                const label = next ? `${formatAmount(next.current)} of ${formatAmount(next.threshold)} points to ${next.name}` : 'Top level';
                return (
                  <Stack key={t.tier_system_id} gap={4}>
                    <Group justify="space-between">
                      <Text fw={500}>{t.tier_system_name ?? 'Retired tier system'}</Text>
                      <Badge variant="outline">{t.tier_level_name ?? 'Retired level'}</Badge>
                    </Group>
                    <Progress value={next ? percent(next.current, next.threshold) : 100} aria-label={`${t.tier_system_name ?? 'Tier'}: ${label}`} />
                    <Text size="sm" c="gray.7">
                      {label}
                      {t.next_maintenance_eval_date ? ` · next review ${formatTime(t.next_maintenance_eval_date, timeZone)}` : ''}
                    </Text>
                  </Stack>
                );
              })}
            </Stack>
          )}
        </Card>
        <Card withBorder>
          <Title order={3} size="h4" mb="sm">
            Identifiers and phone numbers
          </Title>
          <Stack gap={6}>
            {view.identifiers.length === 0 && view.phone_numbers.length === 0 && <Empty>None.</Empty>}
            {view.identifiers.map((i) => (
              <Field key={`${i.external_id_type}:${i.external_id}`} label={i.external_id_type.replace(/_/g, ' ')}>
                {i.external_id}
              </Field>
            ))}
            {view.phone_numbers.map((ph) => (
              <Field key={ph.phone_number} label={`Phone (${ph.phone_type})`}>
                {ph.phone_number}
                {ph.preference_flags.length > 0 ? ` · ${ph.preference_flags.join(', ')}` : ''}
                {ph.verified_ownership ? ' · verified' : ''}
              </Field>
            ))}
          </Stack>
        </Card>
        <Card withBorder>
          <Title order={3} size="h4" mb="sm">
            Tags
          </Title>
          {tags.length === 0 ? (
            <Empty>No tags.</Empty>
          ) : (
            <Group gap="xs">
              {tags.map(([name, count]) => (
                <Badge key={name} variant="default">
                  {name}
                  {count > 1 ? ` × ${formatCount(count)}` : ''}
                </Badge>
              ))}
            </Group>
          )}
        </Card>
      </Stack>
    </SimpleGrid>
  );
}

export function MemberPoints({ view }: { view: MemberView }) {
  const { timeZone } = useRetailer();
  const lots = view.point_accounts.flatMap((a) => a.lots.map((l) => ({ ...l, account: a.name })));
  return (
    <Stack>
      <Title order={3} size="h4">
        Point accounts
      </Title>
      <Table.ScrollContainer scrollAreaProps={{ viewportProps: { tabIndex: 0 } }} minWidth={640}>
        <Table striped aria-label="Point accounts">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Account</Table.Th>
              <Table.Th ta="right">Available</Table.Th>
              <Table.Th ta="right">Pending</Table.Th>
              <Table.Th ta="right">Lifetime</Table.Th>
              <Table.Th ta="right">Lots</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {view.point_accounts.map((a) => (
              <Table.Tr key={a.point_account_id} c={a.user_point_account_id ? undefined : 'gray.7'}>
                <Table.Th scope="row" fw={500}>
                  {a.name}
                </Table.Th>
                <Table.Td ta="right" fw={600}>
                  {formatAmount(a.available_balance)}
                </Table.Td>
                <Table.Td ta="right">{formatAmount(a.pending_balance)}</Table.Td>
                <Table.Td ta="right">{formatAmount(a.life_time_value)}</Table.Td>
                <Table.Td ta="right">{formatCount(a.lots.length)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Title order={4} size="h5">
        Expiring and pending lots
      </Title>
      {lots.length === 0 ? (
        <Empty>No points expire or wait: every point held is available and never expires.</Empty>
      ) : (
        <Table.ScrollContainer scrollAreaProps={{ viewportProps: { tabIndex: 0 } }} minWidth={640}>
          <Table aria-label="Expiring and pending lots">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Account</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th ta="right">Points left</Table.Th>
                <Table.Th>Available from</Table.Th>
                <Table.Th>Expires</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {lots.map((l) => (
                <Table.Tr key={l.lot_id}>
                  <Table.Td>{l.account}</Table.Td>
                  <Table.Td>{l.state}</Table.Td>
                  <Table.Td ta="right">{formatAmount(l.remaining)}</Table.Td>
                  <Table.Td>{formatTime(l.available_at, timeZone)}</Table.Td>
                  <Table.Td>{l.expires_at ? formatTime(l.expires_at, timeZone) : 'Never'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
