// The retailer's audit trail (owners): every admin write, newest first, filtered by action, actor,
// object and time (local times in the retailer's zone) and paged; a record opens to show what it
// changed.
import { ActionIcon, Autocomplete, Button, Group, Select, SimpleGrid, Stack, Table, Text, TextInput, Title, VisuallyHidden } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Fragment, useState, type FormEvent } from 'react';
import { api, ok } from '../api';
import { AuditDetail } from '../components/ops-audit-detail';
import { Pager, useCursorPages } from '../components/ops-ui';
import { zonedToInstant } from '../components/ops-time';
import { Empty, Failure, Loaded } from '../components/states';
import { formatTime } from '../format';
import { useRetailer } from '../session';

const ACTIONS = [
  'program.apply', 'points.adjust', 'offer.issue', 'offer.revoke', 'tier.move', 'member.merge', 'privacy.forget', 'privacy.restrict', 'privacy.reinstate',
  'operator.invite', 'operator.change_role', 'operator.remove', 'credential.issue', 'credential.rotate', 'credential.revoke',
  'webhook.create', 'webhook.change', 'webhook.delete', 'webhook.rotate_secret', 'webhook.redeliver',
];
const PAGE = 50;

interface Filters {
  action: string;
  actor: string;
  objectType: string;
  objectId: string;
  from: string;
  to: string;
}
const NONE: Filters = { action: '', actor: '', objectType: '', objectId: '', from: '', to: '' };

export default function Audit() {
  const { retailerId, timeZone } = useRetailer();
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [open, setOpen] = useState<string | null>(null);
  const pages = useCursorPages();
  const operators = useQuery({ queryKey: [retailerId, 'operators'], queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/operators', { params: { path: { retailer_id: retailerId } } })) });

  const from = filters.from ? zonedToInstant(filters.from, timeZone) : null;
  const to = filters.to ? zonedToInstant(filters.to, timeZone) : null;
  const audit = useQuery({
    queryKey: [retailerId, 'audit', filters, pages.before],
    queryFn: () =>
      ok(
        api.GET('/admin/tenants/{retailer_id}/audit', {
          params: {
            path: { retailer_id: retailerId },
            query: {
              limit: PAGE,
              ...(pages.before ? { before: pages.before } : {}),
              ...(filters.action.trim() ? { action: filters.action.trim() } : {}),
              ...(filters.actor ? { actor_id: filters.actor } : {}),
              ...(filters.objectType.trim() ? { object_type: filters.objectType.trim() } : {}),
              ...(filters.objectId.trim() ? { object_id: filters.objectId.trim() } : {}),
              ...(from ? { from } : {}),
              ...(to ? { to } : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  const apply = (e: FormEvent) => {
    e.preventDefault();
    pages.reset();
    setOpen(null);
    setFilters(draft);
  };
  const clear = () => {
    pages.reset();
    setDraft(NONE);
    setFilters(NONE);
  };
  const filtered = JSON.stringify(filters) !== JSON.stringify(NONE);

  return (
    <Stack>
      <Title order={2}>Audit trail</Title>
      <form onSubmit={apply} aria-label="Filter the audit trail">
        <Stack gap="sm">
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="sm">
            <Autocomplete label="Action" placeholder="e.g. operator.invite" data={ACTIONS} value={draft.action} onChange={(v) => setDraft({ ...draft, action: v })} />
            <Select
              label="Actor"
              placeholder="Anyone"
              clearable
              data={(operators.data?.operators ?? []).map((o) => ({ value: o.operator_id, label: o.email }))}
              value={draft.actor || null}
              onChange={(v) => setDraft({ ...draft, actor: v ?? '' })}
            />
            <TextInput label="Object type" placeholder="e.g. operator, webhook, member" value={draft.objectType} onChange={(e) => setDraft({ ...draft, objectType: e.currentTarget.value })} />
            <TextInput label="Object id" value={draft.objectId} onChange={(e) => setDraft({ ...draft, objectId: e.currentTarget.value })} />
            <TextInput label={`From (${timeZone})`} type="datetime-local" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
            <TextInput label={`Before (${timeZone})`} type="datetime-local" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
          </SimpleGrid>
          <Group gap="sm">
            <Button type="submit">Filter</Button>
            {filtered && (
              <Button variant="default" onClick={clear}>
                Clear filters
              </Button>
            )}
          </Group>
        </Stack>
      </form>
      {operators.error ? <Failure error={operators.error} /> : null}
      <Loaded query={audit}>
        {(data) =>
          data.records.length === 0 ? (
            <Empty>{filtered ? 'No record matches these filters.' : 'Nothing has been changed yet.'}</Empty>
          ) : (
            <Stack>
              <Table.ScrollContainer minWidth={760}>
                <Table aria-label="Audit records" verticalSpacing="xs">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th w={40}>
                        <VisuallyHidden>Details</VisuallyHidden>
                      </Table.Th>
                      <Table.Th>When</Table.Th>
                      <Table.Th>Who</Table.Th>
                      <Table.Th>Action</Table.Th>
                      <Table.Th>Object</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {data.records.map((r) => {
                      const expanded = open === r.id;
                      const who = r.actor.email ?? (r.actor.type === 'admin_token' ? 'ADMIN_TOKEN' : r.actor.type);
                      return (
                        <Fragment key={r.id}>
                          <Table.Tr>
                            <Table.Td>
                              <ActionIcon variant="subtle" aria-expanded={expanded} aria-label={`${expanded ? 'Hide' : 'Show'} the details of ${r.action} at ${formatTime(r.at, timeZone)}`} onClick={() => setOpen(expanded ? null : r.id)}>
                                <span aria-hidden>{expanded ? '▾' : '▸'}</span>
                              </ActionIcon>
                            </Table.Td>
                            <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(r.at, timeZone)}</Table.Td>
                            <Table.Td>
                              {who}
                              {r.actor.type === 'operator_token' && (
                                <Text size="xs" c="gray.7">
                                  with a personal token
                                </Text>
                              )}
                            </Table.Td>
                            <Table.Td>
                              <Text size="sm" ff="monospace">
                                {r.action}
                              </Text>
                            </Table.Td>
                            <Table.Td>
                              {r.object_type}
                              {r.object_id && (
                                <Text size="xs" c="gray.7" style={{ wordBreak: 'break-all' }}>
                                  {r.object_id}
                                </Text>
                              )}
                            </Table.Td>
                          </Table.Tr>
                          {expanded && (
                            <Table.Tr>
                              <Table.Td colSpan={5} style={{ borderLeft: "3px solid var(--mantine-color-indigo-3)" }}>
                                <AuditDetail record={r} />
                              </Table.Td>
                            </Table.Tr>
                          )}
                        </Fragment>
                      );
                    })}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
              <Pager what="Audit" page={pages.page} hasOlder={!!data.next_before} onOlder={() => data.next_before && pages.older(data.next_before)} onNewer={pages.newer} />
            </Stack>
          )
        }
      </Loaded>
    </Stack>
  );
}
