// The retailer's webhook endpoints, each with its deliveries and their attempts. Operators who
// manage integrations add, change, remove them and rotate their secrets (a new secret is shown
// once) and send a delivery again.
import { Accordion, Alert, Badge, Button, Group, Modal, NumberInput, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api';
import { Deliveries } from '../components/ops-deliveries';
import { WebhookForm, type EndpointFields } from '../components/ops-webhook-form';
import { Confirm, OnceSecret, ShownOnce } from '../components/ops-ui';
import { Empty, Loaded } from '../components/states';
import { formatTime } from '../format';
import { useRetailer } from '../session';

type Endpoint = Awaited<ReturnType<typeof listEndpoints>>['webhooks'][number];
const listEndpoints = (retailerId: string) => ok(api.GET('/admin/tenants/{retailer_id}/webhooks', { params: { path: { retailer_id: retailerId } } }));

const EMPTY: EndpointFields = { url: '', description: '', event_types: [], enabled: true };

export default function Webhooks() {
  const { retailerId, timeZone, can } = useRetailer();
  const client = useQueryClient();
  const key = [retailerId, 'webhooks'];
  const endpoints = useQuery({ queryKey: key, queryFn: () => listEndpoints(retailerId) });
  const manage = can('integrations');
  const path = (id: string) => ({ path: { retailer_id: retailerId, webhook_id: id } });

  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<Endpoint | null>(null);
  const [removing, setRemoving] = useState<Endpoint | null>(null);
  const [rotating, setRotating] = useState<Endpoint | null>(null);
  const [overlap, setOverlap] = useState<number | string>(0);
  const [secret, setSecret] = useState<{ url: string; secret: string; note?: string } | null>(null);
  const [open, setOpen] = useState<string[]>([]);
  const refresh = () => client.invalidateQueries({ queryKey: key });

  const create = useMutation({
    mutationFn: (f: EndpointFields) => ok(api.POST('/admin/tenants/{retailer_id}/webhooks', { params: { path: { retailer_id: retailerId } }, body: { url: f.url, event_types: f.event_types, ...(f.description ? { description: f.description } : {}) } })),
    onSuccess: async (created) => {
      setAdding(false);
      setSecret({ url: created.url, secret: created.secret });
      setOpen((o) => [...o, created.id]);
      await refresh();
    },
  });
  const change = useMutation({
    mutationFn: ({ id, f }: { id: string; f: EndpointFields }) => ok(api.PATCH('/admin/tenants/{retailer_id}/webhooks/{webhook_id}', { params: path(id), body: { url: f.url, event_types: f.event_types, description: f.description || null, enabled: f.enabled } })),
    onSuccess: async () => {
      setEditing(null);
      await refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (e: Endpoint) => ok(api.DELETE('/admin/tenants/{retailer_id}/webhooks/{webhook_id}', { params: path(e.id) })),
    onSuccess: async () => {
      setRemoving(null);
      await refresh();
    },
  });
  const rotate = useMutation({
    mutationFn: (e: Endpoint) => ok(api.POST('/admin/tenants/{retailer_id}/webhooks/{webhook_id}/rotate_secret', { params: path(e.id), body: { overlap_seconds: Number(overlap) || 0 } })),
    onSuccess: async (answer, e) => {
      setRotating(null);
      setSecret({ url: e.url, secret: answer.secret, note: Number(overlap) > 0 ? `The previous secret keeps working until ${formatTime(answer.previous_expires_at, timeZone)}.` : 'The previous secret has stopped working.' });
      await refresh();
    },
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Webhooks</Title>
        {manage && <Button onClick={() => setAdding(true)}>Add endpoint</Button>}
      </Group>
      <Text size="sm" c="gray.7">
        Events are sent to each endpoint signed as Standard Webhooks; a delivery that fails is retried on a schedule.
      </Text>
      <Loaded query={endpoints}>
        {(data) =>
          data.webhooks.length === 0 ? (
            <Empty>No webhook endpoint yet{manage ? ': add one to receive the program’s events.' : '.'}</Empty>
          ) : (
            <Accordion multiple variant="separated" value={open} onChange={setOpen}>
              {data.webhooks.map((e) => (
                <Accordion.Item key={e.id} value={e.id}>
                  <Accordion.Control aria-label={`Endpoint ${e.url}`}>
                    <Group justify="space-between" wrap="nowrap" pr="sm">
                      <div style={{ minWidth: 0 }}>
                        <Text fw={600} style={{ wordBreak: 'break-all' }}>
                          {e.url}
                        </Text>
                        <Text size="sm" c="gray.7">
                          {e.description ? `${e.description} · ` : ''}
                          {e.event_types.length ? e.event_types.join(', ') : 'every event type'}
                        </Text>
                      </div>
                      <Badge color={e.enabled ? 'green' : 'gray'} variant="dot" style={{ flexShrink: 0 }}>
                        {e.enabled ? 'enabled' : 'disabled'}
                      </Badge>
                    </Group>
                  </Accordion.Control>
                  <Accordion.Panel>
                    <Stack>
                      {!e.enabled && e.disabled_reason && (
                        <Alert color="gray" title="Not receiving events">
                          {e.disabled_reason}
                        </Alert>
                      )}
                      <Group justify="space-between">
                        <Text size="xs" c="gray.7">
                          Added {formatTime(e.created_at, timeZone)} · changed {formatTime(e.updated_at, timeZone)}
                        </Text>
                        {manage && (
                          <Group gap="xs">
                            <Button size="xs" variant="default" onClick={() => setEditing(e)}>
                              Edit
                            </Button>
                            <Button
                              size="xs"
                              variant="default"
                              onClick={() => {
                                setOverlap(0);
                                setRotating(e);
                              }}
                            >
                              Rotate secret
                            </Button>
                            <Button size="xs" variant="outline" color="red.9" onClick={() => setRemoving(e)}>
                              Remove
                            </Button>
                          </Group>
                        )}
                      </Group>
                      {open.includes(e.id) && <Deliveries endpoint={e} />}
                    </Stack>
                  </Accordion.Panel>
                </Accordion.Item>
              ))}
            </Accordion>
          )
        }
      </Loaded>

      <WebhookForm opened={adding} title="Add a webhook endpoint" submitLabel="Add endpoint" initial={EMPTY} editing={false} pending={create.isPending} error={create.error} onSubmit={(f) => create.mutate(f)} onClose={() => (setAdding(false), create.reset())} />
      <WebhookForm
        opened={!!editing}
        title="Change the webhook endpoint"
        submitLabel="Save changes"
        initial={editing ? { url: editing.url, description: editing.description ?? '', event_types: editing.event_types as EndpointFields['event_types'], enabled: editing.enabled } : EMPTY}
        editing
        pending={change.isPending}
        error={change.error}
        onSubmit={(f) => editing && change.mutate({ id: editing.id, f })}
        onClose={() => (setEditing(null), change.reset())}
      />
      <Confirm opened={!!removing} title="Remove this endpoint?" confirmLabel="Remove endpoint" danger pending={remove.isPending} error={remove.error} onConfirm={() => removing && remove.mutate(removing)} onClose={() => (setRemoving(null), remove.reset())}>
        <Text size="sm">
          {removing?.url} and its deliveries go; nothing more is sent to it. This cannot be undone.
        </Text>
      </Confirm>
      <Confirm opened={!!rotating} title="Rotate the signing secret?" confirmLabel="Rotate secret" pending={rotate.isPending} error={rotate.error} onConfirm={() => rotating && rotate.mutate(rotating)} onClose={() => (setRotating(null), rotate.reset())}>
        <Stack gap="sm">
          <Text size="sm">A new secret signs the deliveries to {rotating?.url} from now on; it is shown once. The receiver must be given it.</Text>
          <NumberInput label="Seconds the previous secret keeps working" description="0: it stops at once" min={0} max={2592000} value={overlap} onChange={setOverlap} />
        </Stack>
      </Confirm>
      <Modal opened={!!secret} onClose={() => setSecret(null)} title="The endpoint’s signing secret" centered size="lg">
        {secret && (
          <Stack>
            <ShownOnce>Give it to the receiver at {secret.url} now: it cannot be shown again. {secret.note}</ShownOnce>
            <OnceSecret label="Signing secret" value={secret.secret} />
            <Group justify="flex-end">
              <Button onClick={() => setSecret(null)}>Done</Button>
            </Group>
          </Stack>
        )}
      </Modal>
    </Stack>
  );
}
