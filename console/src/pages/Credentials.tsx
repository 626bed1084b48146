// The retailer's API credentials (owners): the key of each surface and its dates, never a secret.
// A new set's secrets, and a rotated credential's new secret, are shown once.
import { Badge, Button, Group, Modal, NumberInput, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok, type Schemas } from '../api';
import { Confirm, OnceSecret, ShownOnce } from '../components/ops-ui';
import { Empty, Loaded } from '../components/states';
import { formatTime } from '../format';
import { useRetailer } from '../session';

type Credential = Schemas['AdminCredential'];
const SURFACE: Record<string, string> = { core: 'Core API', connect: 'Connect API', pos: 'Cloud POS' };

function state(c: Credential, timeZone: string): { label: string; color: string; when?: string } {
  if (c.revoked_at) return { label: 'revoked', color: 'gray', when: formatTime(c.revoked_at, timeZone) };
  if (c.expires_at) return new Date(c.expires_at) > new Date() ? { label: 'rotated', color: 'yellow', when: `works until ${formatTime(c.expires_at, timeZone)}` } : { label: 'expired', color: 'gray', when: formatTime(c.expires_at, timeZone) };
  return { label: 'active', color: 'green' };
}

export default function Credentials() {
  const { retailerId, name, timeZone } = useRetailer();
  const client = useQueryClient();
  const key = [retailerId, 'credentials'];
  const credentials = useQuery({ queryKey: key, queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/credentials', { params: { path: { retailer_id: retailerId } } })) });
  const refresh = () => client.invalidateQueries({ queryKey: key });

  const [creating, setCreating] = useState(false);
  const [rotating, setRotating] = useState<Credential | null>(null);
  const [overlap, setOverlap] = useState<number | string>(0);
  const [revoking, setRevoking] = useState<Credential | null>(null);
  const [revokeOpen, setRevokeOpen] = useState(false);
  const [secrets, setSecrets] = useState<{ title: string; items: { label: string; value: string }[]; note?: string } | null>(null);

  const create = useMutation({
    mutationFn: () => ok(api.POST('/admin/tenants/{retailer_id}/credentials', { params: { path: { retailer_id: retailerId } } })),
    onSuccess: async (c) => {
      setCreating(false);
      setSecrets({
        title: 'New credentials',
        items: [
          { label: 'Core appkey', value: c.appkey },
          { label: 'Core secret', value: c.secret },
          { label: 'Connect appkey', value: c.appkey_connect },
          { label: 'Connect secret', value: c.secret_connect },
          { label: 'Cloud POS Authorization', value: c.cloudpos_authorization },
        ],
      });
      await refresh();
    },
  });
  const rotate = useMutation({
    mutationFn: (c: Credential) => ok(api.POST('/admin/tenants/{retailer_id}/credentials/{credential_id}/rotate', { params: { path: { retailer_id: retailerId, credential_id: c.credential_id } }, body: { overlap_seconds: Number(overlap) || 0 } })),
    onSuccess: async (r) => {
      setRotating(null);
      const items = [
        r.appkey && { label: 'Core appkey', value: r.appkey },
        r.secret && { label: 'Core secret', value: r.secret },
        r.appkey_connect && { label: 'Connect appkey', value: r.appkey_connect },
        r.secret_connect && { label: 'Connect secret', value: r.secret_connect },
        r.cloudpos_authorization && { label: 'Cloud POS Authorization', value: r.cloudpos_authorization },
      ].filter((x): x is { label: string; value: string } => !!x);
      setSecrets({
        title: `New ${SURFACE[r.surface] ?? r.surface} secret`,
        items,
        note: r.replaced.expires_at && !r.replaced.revoked_at ? `The previous secret keeps working until ${formatTime(r.replaced.expires_at, timeZone)}.` : 'The previous secret has stopped working.',
      });
      await refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (c: Credential) => ok(api.DELETE('/admin/tenants/{retailer_id}/credentials/{credential_id}', { params: { path: { retailer_id: retailerId, credential_id: c.credential_id } } })),
    onSuccess: async () => {
      setRevokeOpen(false);
      await refresh();
    },
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Credentials</Title>
        <Button onClick={() => (create.reset(), setCreating(true))}>Issue credentials</Button>
      </Group>
      <Text size="sm" c="gray.7">
        The keys {name}’s systems call the Core, Connect and Cloud POS APIs with. Secrets are never shown again after they are issued.
      </Text>
      <Loaded query={credentials}>
        {(data) =>
          data.credentials.length === 0 ? (
            <Empty>No credentials yet.</Empty>
          ) : (
            <Table.ScrollContainer minWidth={760}>
              <Table striped aria-label="Credentials">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Surface</Table.Th>
                    <Table.Th>Key</Table.Th>
                    <Table.Th>Issued</Table.Th>
                    <Table.Th>State</Table.Th>
                    <Table.Th>Actions</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.credentials.map((c) => {
                    const s = state(c, timeZone);
                    const live = !c.revoked_at && !(c.expires_at && new Date(c.expires_at) <= new Date());
                    return (
                      <Table.Tr key={c.credential_id}>
                        <Table.Td>{SURFACE[c.surface] ?? c.surface}</Table.Td>
                        <Table.Td>
                          <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
                            {c.key}
                          </Text>
                        </Table.Td>
                        <Table.Td>{formatTime(c.created_at, timeZone)}</Table.Td>
                        <Table.Td>
                          <Badge color={s.color} variant="dot" style={{ textTransform: 'none' }}>
                            {s.label}
                          </Badge>
                          {s.when && (
                            <Text size="xs" c="gray.7">
                              {s.when}
                            </Text>
                          )}
                        </Table.Td>
                        <Table.Td>
                          {live && (
                            <Group gap="xs" wrap="nowrap">
                              {!c.expires_at && (
                                <Button size="xs" variant="default" aria-label={`Rotate ${SURFACE[c.surface]} ${c.key}`} onClick={() => (rotate.reset(), setOverlap(0), setRotating(c))}>
                                  Rotate
                                </Button>
                              )}
                              <Button size="xs" variant="outline" color="red.9" aria-label={`Revoke ${SURFACE[c.surface]} ${c.key}`} onClick={() => (revoke.reset(), setRevoking(c), setRevokeOpen(true))}>
                                Revoke
                              </Button>
                            </Group>
                          )}
                        </Table.Td>
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )
        }
      </Loaded>

      <Confirm opened={creating} title="Issue a new set of credentials?" confirmLabel="Issue credentials" pending={create.isPending} error={create.error} onConfirm={() => create.mutate()} onClose={() => setCreating(false)}>
        <Text size="sm">A key and secret for each of the Core, Connect and Cloud POS APIs are issued; the secrets are shown once. The credentials in use keep working.</Text>
      </Confirm>
      <Confirm opened={!!rotating} title="Rotate this secret?" confirmLabel="Rotate secret" pending={rotate.isPending} error={rotate.error} onConfirm={() => rotating && rotate.mutate(rotating)} onClose={() => setRotating(null)}>
        <Stack gap="sm">
          <Text size="sm">
            A new secret is issued for {rotating && SURFACE[rotating.surface]} {rotating?.key} (shown once). The systems using it must be given the new one.
          </Text>
          <NumberInput label="Seconds the previous secret keeps working" description="0: it stops at once" min={0} max={2592000} value={overlap} onChange={setOverlap} />
        </Stack>
      </Confirm>
      <Confirm opened={revokeOpen} title="Revoke this credential?" confirmLabel="Revoke credential" danger pending={revoke.isPending} error={revoke.error} onConfirm={() => revoking && revoke.mutate(revoking)} onClose={() => setRevokeOpen(false)}>
        <Text size="sm">
          {revoking && SURFACE[revoking.surface]} {revoking?.key} stops working at once: every call made with it is refused from now on. This cannot be undone.
        </Text>
      </Confirm>
      <Modal opened={!!secrets} onClose={() => setSecrets(null)} title={secrets?.title} centered size="lg">
        {secrets && (
          <Stack>
            <ShownOnce>Copy them now: the secrets cannot be shown again. {secrets.note}</ShownOnce>
            {secrets.items.map((i) => (
              <OnceSecret key={i.label} label={i.label} value={i.value} />
            ))}
            <Group justify="flex-end">
              <Button onClick={() => setSecrets(null)}>Done</Button>
            </Group>
          </Stack>
        )}
      </Modal>
    </Stack>
  );
}
