// The retailer's team (owners): who holds which role; invite someone (the one-time invitation
// token is shown to pass on), change a role, remove someone. The API refuses to leave the
// retailer without an owner (409 last_owner), and the screen says so.
import { Alert, Badge, Button, Group, Modal, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError, ok } from '../api';
import { Confirm, OnceSecret, Refusal, ShownOnce } from '../components/ops-ui';
import { Empty, Loaded } from '../components/states';
import { formatTime } from '../format';
import { useMe, useRetailer } from '../session';

type Role = 'owner' | 'marketer' | 'support' | 'viewer';
const ROLES: { value: Role; label: string; what: string }[] = [
  { value: 'owner', label: 'Owner', what: 'everything: the team, credentials and webhooks too' },
  { value: 'marketer', label: 'Marketer', what: 'the program and its simulations' },
  { value: 'support', label: 'Support', what: 'members: points, offers, tiers, privacy' },
  { value: 'viewer', label: 'Viewer', what: 'reads everything, changes nothing' },
];
const roleLabel = (r: string) => ROLES.find((x) => x.value === r)?.label ?? r;
const EXPLAIN = { last_owner: 'The retailer needs an owner', forbidden: 'Not allowed', not_found: 'Not found', validation: 'Check the form' };

type Operator = Awaited<ReturnType<typeof listOperators>>['operators'][number];
const listOperators = (retailerId: string) => ok(api.GET('/admin/tenants/{retailer_id}/operators', { params: { path: { retailer_id: retailerId } } }));

export default function Operators() {
  const { retailerId, name: retailerName, timeZone } = useRetailer();
  const me = useMe().data;
  const client = useQueryClient();
  const key = [retailerId, 'operators'];
  const operators = useQuery({ queryKey: key, queryFn: () => listOperators(retailerId) });
  const refresh = async () => {
    await client.invalidateQueries({ queryKey: key });
    await client.invalidateQueries({ queryKey: [retailerId, 'audit'] });
  };

  const [inviting, setInviting] = useState(false);
  const [invite, setInvite] = useState<{ email: string; name: string; role: Role }>({ email: '', name: '', role: 'viewer' });
  const [invited, setInvited] = useState<Awaited<ReturnType<typeof doInvite>> | null>(null);
  const [changing, setChanging] = useState<{ op: Operator; role: Role } | null>(null);
  const [removing, setRemoving] = useState<Operator | null>(null);

  const doInvite = () => ok(api.POST('/admin/tenants/{retailer_id}/operators', { params: { path: { retailer_id: retailerId } }, body: { email: invite.email.trim(), role: invite.role, ...(invite.name.trim() ? { name: invite.name.trim() } : {}) } }));
  const inviteMutation = useMutation({
    mutationFn: doInvite,
    onSuccess: async (answer) => {
      setInviting(false);
      setInvited(answer);
      await refresh();
    },
  });
  const changeRole = useMutation({
    mutationFn: ({ op, role }: { op: Operator; role: Role }) => ok(api.PUT('/admin/tenants/{retailer_id}/operators/{operator_id}', { params: { path: { retailer_id: retailerId, operator_id: op.operator_id } }, body: { role } })),
    onSuccess: async () => {
      setChanging(null);
      await refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (op: Operator) => ok(api.DELETE('/admin/tenants/{retailer_id}/operators/{operator_id}', { params: { path: { retailer_id: retailerId, operator_id: op.operator_id } } })),
    onSuccess: async () => {
      setRemoving(null);
      await refresh();
    },
  });
  const submitInvite = (e: FormEvent) => {
    e.preventDefault();
    inviteMutation.mutate();
  };
  const inviteError = inviteMutation.error instanceof ApiError && inviteMutation.error.field ? inviteMutation.error : null;
  const isMe = (op: Operator) => me?.operator?.operator_id === op.operator_id;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Operators</Title>
        <Button
          onClick={() => {
            setInvite({ email: '', name: '', role: 'viewer' });
            inviteMutation.reset();
            setInviting(true);
          }}
        >
          Invite operator
        </Button>
      </Group>
      <Loaded query={operators}>
        {(data) =>
          data.operators.length === 0 ? (
            <Empty>Nobody holds a role here yet.</Empty>
          ) : (
            <Table.ScrollContainer minWidth={720}>
              <Table striped aria-label="Operators">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>Email</Table.Th>
                    <Table.Th>Role</Table.Th>
                    <Table.Th>Account</Table.Th>
                    <Table.Th>Actions</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.operators.map((op) => (
                    <Table.Tr key={op.operator_id}>
                      <Table.Td>
                        {op.name}
                        {isMe(op) ? ' (you)' : ''}
                      </Table.Td>
                      <Table.Td>{op.email}</Table.Td>
                      <Table.Td>
                        <Badge variant="dot" color={op.role === 'owner' ? 'indigo' : 'gray'}>
                          {roleLabel(op.role)}
                        </Badge>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{op.password_set ? 'Active' : 'Invited, no password yet'}</Text>
                        <Text size="xs" c="gray.7">
                          since {formatTime(op.created_at, timeZone)}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Group gap="xs" wrap="nowrap">
                          <Button size="xs" variant="default" aria-label={`Change the role of ${op.email}`} onClick={() => (changeRole.reset(), setChanging({ op, role: op.role as Role }))}>
                            Change role
                          </Button>
                          <Button size="xs" variant="outline" color="red.9" aria-label={`Remove ${op.email}`} onClick={() => (remove.reset(), setRemoving(op))}>
                            Remove
                          </Button>
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )
        }
      </Loaded>

      <Modal opened={inviting} onClose={() => setInviting(false)} title={`Invite an operator to ${retailerName}`} centered>
        <form onSubmit={submitInvite}>
          <Stack>
            <TextInput label="Email" type="email" required withAsterisk={false} value={invite.email} onChange={(e) => setInvite({ ...invite, email: e.currentTarget.value })} error={inviteError?.field === 'email' ? inviteError.message : undefined} maxLength={320} />
            <TextInput label="Name" description="Optional" value={invite.name} onChange={(e) => setInvite({ ...invite, name: e.currentTarget.value })} maxLength={200} />
            <Select label="Role" data={ROLES.map((r) => ({ value: r.value, label: `${r.label}: ${r.what}` }))} value={invite.role} allowDeselect={false} onChange={(v) => v && setInvite({ ...invite, role: v as Role })} />
            {inviteError?.field !== 'email' && <Refusal error={inviteMutation.error} explain={EXPLAIN} />}
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setInviting(false)}>
                Cancel
              </Button>
              <Button type="submit" loading={inviteMutation.isPending}>
                Invite
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>

      <Modal opened={!!invited} onClose={() => setInvited(null)} title="Invitation" centered size="lg">
        {invited && (
          <Stack>
            <Text size="sm">
              {invited.operator.email} is now {roleLabel(invited.operator.role).toLowerCase()} at {retailerName}.
            </Text>
            {invited.invitation ? (
              <>
                <ShownOnce>
                  Pass this invitation link on to {invited.operator.email} (it works once, until {formatTime(invited.invitation.expires_at, timeZone)}). With it they set their first password, then sign in.
                </ShownOnce>
                <OnceSecret label="Invitation link" value={`${window.location.origin}/console/invitation#${encodeURIComponent(invited.invitation.token)}`} />
                <OnceSecret label="Invitation token" value={invited.invitation.token} />
              </>
            ) : (
              <Alert color="blue" title="They already have an account">
                They can sign in with their password now and pick {retailerName}.
              </Alert>
            )}
            <Group justify="flex-end">
              <Button onClick={() => setInvited(null)}>Done</Button>
            </Group>
          </Stack>
        )}
      </Modal>

      <Confirm
        opened={!!changing}
        title="Change the role?"
        confirmLabel="Change role"
        pending={changeRole.isPending}
        error={changeRole.error}
        explain={EXPLAIN}
        onConfirm={() => changing && changeRole.mutate(changing)}
        onClose={() => setChanging(null)}
      >
        {changing && (
          <Stack gap="sm">
            <Select label="New role" data={ROLES.map((r) => ({ value: r.value, label: `${r.label}: ${r.what}` }))} value={changing.role} allowDeselect={false} onChange={(v) => v && setChanging({ ...changing, role: v as Role })} />
            <Text size="sm">
              {changing.op.email} is {roleLabel(changing.op.role).toLowerCase()} now. As {roleLabel(changing.role).toLowerCase()}: {ROLES.find((r) => r.value === changing.role)?.what} (from their next request).
              {isMe(changing.op) ? ' This is your own role.' : ''}
            </Text>
          </Stack>
        )}
      </Confirm>
      <Confirm
        opened={!!removing}
        title="Remove from the team?"
        confirmLabel="Remove operator"
        danger
        pending={remove.isPending}
        error={remove.error}
        explain={EXPLAIN}
        onConfirm={() => removing && remove.mutate(removing)}
        onClose={() => setRemoving(null)}
      >
        <Text size="sm">
          {removing?.email} loses their role at {retailerName} at once (their account and their roles elsewhere stay).
          {removing && isMe(removing) ? ' This is you: you will no longer see this retailer.' : ''}
        </Text>
      </Confirm>
    </Stack>
  );
}
