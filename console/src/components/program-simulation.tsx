// A simulation of the draft over a window of recorded events and transactions (POST …/program/simulate):
// answered at once for a small window, else polled (GET …/simulations/:id) until it is done.
import { Alert, Button, Group, Progress, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError, ok, type Schemas } from '../api';
import { formatAmount, formatCount, formatTime } from '../format';
import { useRetailer } from '../session';
import { simulationWindow, zonedDay, type ProgramDoc } from './program-draft';
import { Failure } from './states';

type Report = NonNullable<Schemas['Simulation']['result']>;

function Compare({ title, current, draft, names, amounts }: { title: string; current: Record<string, string | number>; draft: Record<string, string | number>; names: Record<string, string>; amounts?: boolean }) {
  const keys = [...new Set([...Object.keys(current), ...Object.keys(draft)])];
  const show = (v: string | number | undefined) => (amounts ? formatAmount(v ?? '0') : formatCount(Number(v ?? 0)));
  return (
    <Stack gap={4}>
      <Text fw={600} size="sm">
        {title}
      </Text>
      {keys.length === 0 ? (
        <Text size="sm" c="gray.7">
          None under either program.
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={360}>
          <Table withTableBorder>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th ta="right">Live program</Table.Th>
                <Table.Th ta="right">Draft</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {keys.map((k) => (
                <Table.Tr key={k}>
                  <Table.Td>{names[k] ?? k}</Table.Td>
                  <Table.Td ta="right">{show(current[k])}</Table.Td>
                  <Table.Td ta="right" fw={String(current[k] ?? '0') !== String(draft[k] ?? '0') ? 700 : undefined}>
                    {show(draft[k])}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

export function SimulationReport({ report }: { report: Report }) {
  const { timeZone } = useRetailer();
  const r = report;
  return (
    <Stack gap="sm" aria-label="Simulation result" component="section">
      <Text size="sm">
        {formatTime(r.window.from, timeZone)} to {formatTime(r.window.to, timeZone)}: replayed {formatCount(r.replayed.events)} events and {formatCount(r.replayed.transactions)} transactions of {formatCount(r.replayed.members)} members;{' '}
        <b>{formatCount(r.members_changed)} members</b> would fare differently. Refused: {formatCount(r.refused.current)} live, {formatCount(r.refused.draft)} draft. Tier changes: {formatCount(r.current.tier_changes)} live, {formatCount(r.draft.tier_changes)} draft.
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Compare title="Points earned by account" current={r.current.points_by_account} draft={r.draft.points_by_account} names={r.names} amounts />
        <Compare title="Rule achievements" current={r.current.rule_achievements} draft={r.draft.rule_achievements} names={r.names} />
        <Compare title="Offers issued" current={r.current.offers_issued} draft={r.draft.offers_issued} names={r.names} />
        <Compare title="Campaign completions" current={r.current.campaign_completions} draft={r.draft.campaign_completions} names={r.names} />
      </SimpleGrid>
      {r.approximations.length > 0 && (
        <Alert color="gray" title="Approximations">
          {r.approximations.join(' ')}
        </Alert>
      )}
    </Stack>
  );
}

export function SimulationPanel({ draft }: { draft: ProgramDoc }) {
  const { retailerId, timeZone } = useRetailer();
  const [from, setFrom] = useState(() => zonedDay(timeZone, -30));
  const [to, setTo] = useState(() => zonedDay(timeZone));
  const [windowError, setWindowError] = useState<{ field: 'from' | 'to'; message: string } | null>(null);
  const start = useMutation({
    mutationFn: (body: { from: string; to: string }) => ok(api.POST('/admin/tenants/{retailer_id}/program/simulate', { params: { path: { retailer_id: retailerId } }, body: { program: draft, ...body } })),
  });
  const id = start.data?.status === 'running' ? start.data.simulation_id : null;
  const job = useQuery({
    queryKey: [retailerId, 'simulation', id],
    enabled: !!id,
    queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/simulations/{simulation_id}', { params: { path: { retailer_id: retailerId, simulation_id: id! } } })),
    refetchInterval: (q) => (q.state.data?.status === 'running' || !q.state.data ? 1000 : false),
  });
  const simulation = id ? job.data : start.data;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const w = simulationWindow(from, to, timeZone);
    if ('error' in w) return setWindowError({ field: w.field, message: w.error });
    setWindowError(null);
    start.mutate(w);
  };
  const apiField = start.error instanceof ApiError ? start.error.field : undefined;
  return (
    <Stack component="section" aria-label="Simulation" gap="sm">
      <Title order={3} size="h4">
        Simulation
      </Title>
      <Text size="sm" c="gray.7">
        Replays the recorded events and transactions of the chosen days ({timeZone}) against the live program and the draft. Nothing is written.
      </Text>
      <form onSubmit={submit}>
        <Group align="flex-end">
          <TextInput type="date" label="First day" value={from} onChange={(e) => setFrom(e.currentTarget.value)} error={windowError?.field === 'from' ? windowError.message : apiField === 'from' ? start.error?.message : undefined} />
          <TextInput type="date" label="Last day" value={to} onChange={(e) => setTo(e.currentTarget.value)} error={windowError?.field === 'to' ? windowError.message : apiField === 'to' ? start.error?.message : undefined} />
          <Button type="submit" variant="default" loading={start.isPending}>
            Run simulation
          </Button>
        </Group>
      </form>
      {start.error && !(apiField === 'from' || apiField === 'to') && <Failure error={start.error} />}
      {job.error && <Failure error={job.error} retry={() => job.refetch()} />}
      {simulation?.status === 'running' && <Progress value={simulation.percent_done} aria-label="Simulation progress" animated />}
      {simulation?.status === 'failed' && <Failure error={new Error(simulation.error ?? 'The simulation failed')} />}
      {simulation?.status === 'done' && simulation.result && <SimulationReport report={simulation.result} />}
    </Stack>
  );
}
