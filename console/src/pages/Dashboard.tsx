// The retailer at a glance over a period (the last 7, 30 or 90 days of its calendar): members,
// points issued, spent and expired per day (a chart, and the numbers), outstanding points per
// account, offers and the most completed campaigns. recharts is imported here only, so that it
// loads with this screen.
import { Accordion, Card, Group, Paper, SegmentedControl, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { useSearchParams } from 'react-router';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, ok, type Schemas } from '../api';
import { periodOf, PRESETS, sumDecimals, type Preset } from '../components/dashboard-period';
import { Empty, Loaded } from '../components/states';
import { formatAmount, formatCount, formatDay } from '../format';
import { useRetailer } from '../session';

type Dashboard = Schemas['AdminDashboard'];

const SERIES = [
  { key: 'issued', label: 'Issued', color: '#2f9e44' },
  { key: 'spent', label: 'Spent', color: '#3b5bdb' },
  { key: 'expired', label: 'Expired', color: '#e8590c' },
] as const;

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Card withBorder padding="md">
      <Text size="sm" c="gray.7" component="h3" m={0} fw={500}>
        {label}
      </Text>
      <Text fz={26} fw={700} lh={1.3}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="gray.7">
          {hint}
        </Text>
      )}
    </Card>
  );
}

function periodText(d: Dashboard): string {
  const days = d.points_per_day;
  if (days.length === 0) return '';
  return `${formatDay(days[0].day)} – ${formatDay(days[days.length - 1].day)}`;
}

function PointsChart({ data }: { data: Dashboard }) {
  const rows = data.points_per_day.map((d) => ({ day: formatDay(d.day), issued: Number(d.issued), spent: Number(d.spent), expired: Number(d.expired) }));
  const totals = SERIES.map((s) => ({ ...s, total: sumDecimals(data.points_per_day.map((d) => d[s.key])) }));
  const summary = `Points per day, ${periodText(data)}: ${totals.map((t) => `${t.label.toLowerCase()} ${formatAmount(t.total)}`).join(', ')}`;
  const busy = data.points_per_day.filter((d) => d.issued !== '0' || d.spent !== '0' || d.expired !== '0');
  return (
    <Paper withBorder p="md">
      <Stack gap="sm">
        <Title order={3} size="h4">
          Points per day
        </Title>
        <SimpleGrid cols={{ base: 3 }} spacing="xs">
          {totals.map((t) => (
            <div key={t.key}>
              <Text size="xs" c="gray.7">
                {t.label} in the period
              </Text>
              <Text fw={600}>{formatAmount(t.total)}</Text>
            </div>
          ))}
        </SimpleGrid>
        <div role="img" aria-label={summary} style={{ width: '100%', height: 280 }}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="day" tick={{ fontSize: 12 }} minTickGap={16} />
              <YAxis tick={{ fontSize: 12 }} width={56} tickFormatter={(v: number) => formatCount(v)} />
              <Tooltip formatter={(v) => formatCount(Number(v))} itemStyle={{ color: "#212529" }} />
              <Legend formatter={(value) => <span style={{ color: '#212529' }}>{value}</span>} />
              {SERIES.map((s) => (
                <Bar key={s.key} dataKey={s.key} name={s.label} fill={s.color} isAnimationActive={false} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        </div>
        <Accordion variant="contained">
          <Accordion.Item value="numbers">
            <Accordion.Control>The numbers, day by day ({formatCount(busy.length)} {busy.length === 1 ? 'day' : 'days'} with points moving)</Accordion.Control>
            <Accordion.Panel>
              {busy.length === 0 ? (
                <Empty>No points were issued, spent or expired in this period.</Empty>
              ) : (
                <Table.ScrollContainer minWidth={420}>
                  <Table striped>
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>Day</Table.Th>
                        {SERIES.map((s) => (
                          <Table.Th key={s.key} ta="right">
                            {s.label}
                          </Table.Th>
                        ))}
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {busy.map((d) => (
                        <Table.Tr key={d.day}>
                          <Table.Td>{formatDay(d.day)}</Table.Td>
                          {SERIES.map((s) => (
                            <Table.Td key={s.key} ta="right">
                              {formatAmount(d[s.key])}
                            </Table.Td>
                          ))}
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Table.ScrollContainer>
              )}
            </Accordion.Panel>
          </Accordion.Item>
        </Accordion>
      </Stack>
    </Paper>
  );
}

function Liability({ data }: { data: Dashboard }) {
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        Outstanding points
      </Title>
      {data.liability.length === 0 ? (
        <Empty>The program has no point account.</Empty>
      ) : (
        <Table.ScrollContainer minWidth={360}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Account</Table.Th>
                <Table.Th ta="right">Outstanding</Table.Th>
                <Table.Th ta="right">Members holding</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.liability.map((a) => (
                <Table.Tr key={a.point_account_id}>
                  <Table.Td>{a.name}</Table.Td>
                  <Table.Td ta="right">{formatAmount(a.outstanding)}</Table.Td>
                  <Table.Td ta="right">{formatCount(a.members_holding)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Text size="xs" c="gray.7" mt="xs">
        Available and pending points of every member, now.
      </Text>
    </Paper>
  );
}

function TopCampaigns({ data }: { data: Dashboard }) {
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        Top campaigns
      </Title>
      {data.top_campaigns.length === 0 ? (
        <Empty>No campaign was completed in this period.</Empty>
      ) : (
        <Stack gap="xs" component="ol" m={0} p={0} style={{ listStyle: 'none' }}>
          {data.top_campaigns.map((c, i) => (
            <Group key={c.campaign_id} justify="space-between" component="li" wrap="nowrap">
              <Text size="sm">
                {i + 1}. {c.name}
              </Text>
              <Text size="sm" fw={600} style={{ whiteSpace: 'nowrap' }}>
                {formatCount(c.completions)} completed
              </Text>
            </Group>
          ))}
        </Stack>
      )}
    </Paper>
  );
}

export default function Dashboard() {
  const { retailerId, timeZone } = useRetailer();
  const [params, setParams] = useSearchParams();
  const requested = Number(params.get('days'));
  const days: Preset = (PRESETS as readonly number[]).includes(requested) ? (requested as Preset) : 30;
  const { from } = periodOf(days, timeZone);
  const labelId = useId();
  const dashboard = useQuery({
    queryKey: [retailerId, 'dashboard', from],
    queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/dashboard', { params: { path: { retailer_id: retailerId }, query: { from } } })),
    placeholderData: keepPreviousData,
  });

  return (
    <Stack>
      <Group justify="space-between" align="flex-end">
        <div>
          <Title order={2}>Dashboard</Title>
          {dashboard.data && (
            <Text size="sm" c="gray.7" aria-live="polite" data-testid="period">
              {periodText(dashboard.data)} · days in {dashboard.data.time_zone}
              {dashboard.isFetching ? ' · updating…' : ''}
            </Text>
          )}
        </div>
        <Stack gap={4}>
          <Text size="sm" fw={500} id={labelId}>
            Period
          </Text>
          <SegmentedControl
            aria-labelledby={labelId}
            value={String(days)}
            onChange={(v) => setParams(v === '30' ? {} : { days: v }, { replace: true })}
            data={PRESETS.map((p) => ({ value: String(p), label: `Last ${p} days` }))}
          />
        </Stack>
      </Group>
      <Loaded query={dashboard}>
        {(d) => (
          <Stack>
            <SimpleGrid cols={{ base: 2, md: 5 }}>
              <Stat label="Members" value={formatCount(d.members.total)} hint="now" />
              <Stat label="New members" value={formatCount(d.members.new_in_period)} hint="enrolled in the period" />
              <Stat label="Active members" value={formatCount(d.members.active_last_30_days)} hint="in the last 30 days" />
              <Stat label="Offers issued" value={formatCount(d.offers.issued)} hint="in the period" />
              <Stat label="Offers redeemed" value={formatCount(d.offers.redeemed)} hint="in the period" />
            </SimpleGrid>
            <PointsChart data={d} />
            <SimpleGrid cols={{ base: 1, md: 2 }}>
              <Liability data={d} />
              <TopCampaigns data={d} />
            </SimpleGrid>
          </Stack>
        )}
      </Loaded>
    </Stack>
  );
}
