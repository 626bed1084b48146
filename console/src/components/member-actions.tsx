// What support does to a member, offered only to a role with the `members` permission: adjust
// points, issue an offer, move a tier, restrict or reinstate, merge another member in, forget.
// Each opens a modal that says exactly what will happen; the API decides, its refusal is shown
// on the field it names; the member's view is refreshed at once after.
import { Alert, Button, Group, Menu, Modal, Radio, Select, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { api, ApiError, ok, type Schemas } from '../api';
import { formatAmount, formatTime } from '../format';
import { useRetailer } from '../session';
import { hint, isGone, memberKey, memberName, type MemberView } from './member-format';

/** The result of the last action, shown above the tabs. */
export function useNotice() {
  const [text, setText] = useState<string | null>(null);
  return { text, show: setText, clear: () => setText(null) };
}

/** The API's message when it names `field` (the last part of its path), else undefined. */
export function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const named = error.field;
  if (named && (named === field || named.endsWith(`.${field}`) || named.endsWith(`/${field}`))) return error.message;
  return undefined;
}

/** The error when it names none of the form's fields: shown above the buttons. */
function FormError({ error, fields }: { error: unknown; fields: string[] }) {
  if (!error || fields.some((f) => fieldError(error, f))) return null;
  return (
    <Alert color="red" role="alert" title="Not done">
      {error instanceof Error ? error.message : String(error)}
    </Alert>
  );
}

/** A mutation on the member that refreshes the member (and the search results) when it succeeds. */
export function useMemberChange<TVars, TResult>(userId: string, run: (vars: TVars) => Promise<TResult>, done: (result: TResult, vars: TVars) => void) {
  const { retailerId } = useRetailer();
  const client = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: async (result, vars) => {
      done(result, vars);
      await Promise.all([client.invalidateQueries({ queryKey: memberKey(retailerId, userId) }), client.invalidateQueries({ queryKey: [retailerId, 'members'] })]);
    },
  });
}

export function ActionModal({ opened, onClose, title, children, danger, confirm, busy, onConfirm, error, fields }: { opened: boolean; onClose: () => void; title: string; children: ReactNode; danger?: boolean; confirm: string; busy: boolean; onConfirm: () => void; error: unknown; fields: string[] }) {
  return (
    <Modal opened={opened} onClose={onClose} title={title} size="lg" closeButtonProps={{ 'aria-label': 'Close' }}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onConfirm();
        }}
      >
        <Stack>
          {children}
          <FormError error={error} fields={fields} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" color={danger ? 'red.8' : undefined} loading={busy}>
              {confirm}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

const reasonOf = (text: string) => (text.trim() ? { reason: text.trim() } : {});

function ReasonField({ value, onChange, error, required }: { value: string; onChange: (v: string) => void; error?: string; required?: boolean }) {
  return (
    <Textarea
      label="Reason"
      description={hint(required ? 'Required: kept in the ledger, the timeline and the audit trail' : 'Optional: kept with the change and in the audit trail')}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      error={error}
      maxLength={500}
      autosize
      minRows={2}
      withAsterisk={required}
    />
  );
}

// --- Adjust points ------------------------------------------------------------------------------

function AdjustPoints({ view, opened, onClose, onDone }: { view: MemberView; opened: boolean; onClose: () => void; onDone: (t: string) => void }) {
  const { retailerId } = useRetailer();
  const userId = view.profile.user_id;
  const [account, setAccount] = useState<string | null>(view.point_accounts.find((a) => a.user_point_account_id)?.point_account_id ?? view.point_accounts[0]?.point_account_id ?? null);
  const [kind, setKind] = useState<'deposit' | 'deduct'>('deposit');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const chosen = view.point_accounts.find((a) => a.point_account_id === account);
  const who = memberName(view.profile);
  const change = useMemberChange(
    userId,
    () =>
      ok(
        api.POST('/admin/tenants/{retailer_id}/members/{user_id}/points', {
          params: { path: { retailer_id: retailerId, user_id: userId } },
          // the reason goes as typed: the API refuses an empty one and says so on the field
          body: { point_account_id: account ?? '', kind, amount: amount.trim(), reason },
        }),
      ),
    (r) => {
      onDone(`${r.kind === 'deposit' ? 'Deposited' : 'Deducted'} ${formatAmount(r.amount)} points ${r.kind === 'deposit' ? 'into' : 'from'} ${chosen?.name ?? 'the account'}: the balance is now ${formatAmount(r.balance_after)}.`);
      setAmount('');
      setReason('');
      onClose();
    },
  );
  const shown = amount.trim() ? formatAmount(amount.trim()) : '…';
  return (
    <ActionModal
      opened={opened}
      onClose={onClose}
      title="Adjust points"
      confirm={amount.trim() ? `${kind === 'deposit' ? 'Deposit' : 'Deduct'} ${shown} points` : kind === 'deposit' ? 'Deposit points' : 'Deduct points'}
      busy={change.isPending}
      onConfirm={() => change.mutate(undefined)}
      error={change.error}
      fields={['point_account_id', 'amount', 'reason', 'kind']}
    >
      <Select label="Point account" data={view.point_accounts.map((a) => ({ value: a.point_account_id, label: `${a.name} (${formatAmount(a.available_balance)} available)` }))} value={account} onChange={setAccount} allowDeselect={false} error={fieldError(change.error, 'point_account_id')} searchable />
      <Radio.Group label="Change" value={kind} onChange={(v) => setKind(v as 'deposit' | 'deduct')} error={fieldError(change.error, 'kind')}>
        <Group mt={4}>
          <Radio value="deposit" label="Deposit (add points)" />
          <Radio value="deduct" label="Deduct (take points away)" />
        </Group>
      </Radio.Group>
      <TextInput label="Amount" description={hint('A positive number of points')} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.currentTarget.value)} error={fieldError(change.error, 'amount')} maxLength={40} />
      <ReasonField value={reason} onChange={setReason} error={fieldError(change.error, 'reason')} required />
      <Text size="sm">
        {kind === 'deposit'
          ? `${shown} points will be deposited into ${who}'s ${chosen?.name ?? 'account'} (${formatAmount(chosen?.available_balance)} available now).`
          : `${shown} points will be deducted from ${who}'s ${chosen?.name ?? 'account'} (${formatAmount(chosen?.available_balance)} available now); a deduction never takes more than is available.`}{' '}
        The change is recorded in the ledger and the timeline as a manual adjustment, with your reason, and in the audit trail.
      </Text>
    </ActionModal>
  );
}

// --- Issue an offer -----------------------------------------------------------------------------

type ProgramOffer = NonNullable<Schemas['Program']['offers']>[number];

function useProgram(enabled: boolean) {
  const { retailerId } = useRetailer();
  return useQuery({
    queryKey: [retailerId, 'program'],
    enabled,
    queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/program', { params: { path: { retailer_id: retailerId } } })),
  });
}

function IssueOffer({ view, opened, onClose, onDone }: { view: MemberView; opened: boolean; onClose: () => void; onDone: (t: string) => void }) {
  const { retailerId } = useRetailer();
  const userId = view.profile.user_id;
  const program = useProgram(opened);
  const offers: ProgramOffer[] = (program.data?.offers ?? []).filter((o) => o.status !== 'inactive');
  const [offerId, setOfferId] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const chosen = offers.find((o) => o.root_offer_id === offerId);
  const who = memberName(view.profile);
  const change = useMemberChange(
    userId,
    () => ok(api.POST('/admin/tenants/{retailer_id}/members/{user_id}/offers', { params: { path: { retailer_id: retailerId, user_id: userId } }, body: { offer_id: offerId ?? '', ...reasonOf(reason) } })),
    () => {
      onDone(`Issued “${chosen?.internal_title ?? 'the offer'}” to ${who}.`);
      setOfferId(null);
      setReason('');
      onClose();
    },
  );
  return (
    <ActionModal opened={opened} onClose={onClose} title="Issue an offer" confirm="Issue offer" busy={change.isPending} onConfirm={() => change.mutate(undefined)} error={change.error} fields={['offer_id', 'reason']}>
      {program.error ? (
        <Alert color="red">The program's offers could not be read: {(program.error as Error).message}</Alert>
      ) : (
        <Select
          label="Offer"
          placeholder={program.isPending ? 'Loading the offers…' : offers.length ? 'Pick an offer' : 'The program has no active offer'}
          data={offers.map((o) => ({ value: o.root_offer_id, label: o.internal_title }))}
          value={offerId}
          onChange={setOfferId}
          error={fieldError(change.error, 'offer_id')}
          searchable
          nothingFoundMessage="No such offer"
        />
      )}
      <ReasonField value={reason} onChange={setReason} error={fieldError(change.error, 'reason')} />
      <Text size="sm">{chosen ? `${who} receives “${chosen.internal_title}” now, in the offer's current version and within its limits (the API refuses it when a limit is reached).` : 'Pick the offer to issue.'}</Text>
    </ActionModal>
  );
}

// --- Move tier ----------------------------------------------------------------------------------

function MoveTier({ view, opened, onClose, onDone }: { view: MemberView; opened: boolean; onClose: () => void; onDone: (t: string) => void }) {
  const { retailerId } = useRetailer();
  const userId = view.profile.user_id;
  const program = useProgram(opened);
  const systems = program.data?.tier_systems ?? [];
  const [systemId, setSystemId] = useState<string | null>(view.tiers[0]?.tier_system_id ?? null);
  const [levelId, setLevelId] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const system = systems.find((s) => s.id === (systemId ?? systems[0]?.id));
  const level = system?.levels.find((l) => l.id === levelId);
  const current = view.tiers.find((t) => t.tier_system_id === system?.id);
  const who = memberName(view.profile);
  const change = useMemberChange(
    userId,
    () => ok(api.PUT('/admin/tenants/{retailer_id}/members/{user_id}/tiers/{tier_system_id}', { params: { path: { retailer_id: retailerId, user_id: userId, tier_system_id: system?.id ?? '' } }, body: { tier_level_id: levelId ?? '', ...reasonOf(reason) } })),
    (r) => {
      onDone(r.changed ? `${who} is now at ${r.to_level_name ?? 'the level'} in ${system?.name ?? 'the tier system'}.` : `${who} was already at ${r.to_level_name ?? 'that level'}: nothing changed.`);
      setLevelId(null);
      setReason('');
      onClose();
    },
  );
  return (
    <ActionModal opened={opened} onClose={onClose} title="Move tier" confirm="Move tier" busy={change.isPending} onConfirm={() => change.mutate(undefined)} error={change.error} fields={['tier_level_id', 'reason', 'tier_system_id']}>
      <Select
        label="Tier system"
        data={systems.map((s) => ({ value: s.id, label: s.name }))}
        value={system?.id ?? null}
        onChange={(v) => {
          setSystemId(v);
          setLevelId(null);
        }}
        allowDeselect={false}
        placeholder={program.isPending ? 'Loading…' : 'The program has no tier system'}
      />
      <Select
        label="Level"
        data={(system?.levels ?? []).map((l) => ({ value: l.id, label: l.id === current?.tier_level_id ? `${l.name} (current)` : l.name }))}
        value={levelId}
        onChange={setLevelId}
        error={fieldError(change.error, 'tier_level_id')}
        placeholder="Pick a level"
      />
      <ReasonField value={reason} onChange={setReason} error={fieldError(change.error, 'reason')} />
      <Text size="sm">
        {level
          ? `${who} is placed at ${level.name} in ${system?.name} (now ${current?.tier_level_name ?? 'in no level'}), whatever their points; maintenance goes on from there.`
          : 'Pick the level to place the member at.'}
      </Text>
    </ActionModal>
  );
}

// --- Restrict / reinstate -----------------------------------------------------------------------

function Restriction({ view, opened, onClose, onDone }: { view: MemberView; opened: boolean; onClose: () => void; onDone: (t: string) => void }) {
  const { retailerId } = useRetailer();
  const userId = view.profile.user_id;
  const restricted = view.profile.restricted;
  const [reason, setReason] = useState('');
  const who = memberName(view.profile);
  const change = useMemberChange(
    userId,
    () =>
      ok(
        restricted
          ? api.POST('/admin/tenants/{retailer_id}/members/{user_id}/reinstate', { params: { path: { retailer_id: retailerId, user_id: userId } }, body: reasonOf(reason) })
          : api.POST('/admin/tenants/{retailer_id}/members/{user_id}/restrict', { params: { path: { retailer_id: retailerId, user_id: userId } }, body: reasonOf(reason) }),
      ),
    (r) => {
      onDone(r.restricted ? `Processing of ${who}'s data is restricted (privacy request ${r.privacy_request_id}).` : `Processing of ${who}'s data has resumed (privacy request ${r.privacy_request_id}).`);
      setReason('');
      onClose();
    },
  );
  return (
    <ActionModal opened={opened} onClose={onClose} title={restricted ? 'Reinstate processing' : 'Restrict processing'} confirm={restricted ? 'Reinstate' : 'Restrict'} danger={!restricted} busy={change.isPending} onConfirm={() => change.mutate(undefined)} error={change.error} fields={['reason']}>
      <Text size="sm">
        {restricted
          ? `Processing of ${who}'s data resumes: rules and campaigns act on them again. Recorded as a privacy request.`
          : `${who} keeps their data, but rules and campaigns stop acting on them: they earn nothing and see no campaign until reinstated. Recorded as a privacy request.`}
      </Text>
      <ReasonField value={reason} onChange={setReason} error={fieldError(change.error, 'reason')} />
    </ActionModal>
  );
}

// --- Forget -------------------------------------------------------------------------------------

function Forget({ view, opened, onClose, onDone }: { view: MemberView; opened: boolean; onClose: () => void; onDone: (t: string) => void }) {
  const { retailerId, timeZone } = useRetailer();
  const userId = view.profile.user_id;
  const [reason, setReason] = useState('');
  const [typed, setTyped] = useState('');
  const who = memberName(view.profile);
  const change = useMemberChange(
    userId,
    () => ok(api.POST('/admin/tenants/{retailer_id}/members/{user_id}/forget', { params: { path: { retailer_id: retailerId, user_id: userId } }, body: reasonOf(reason) })),
    (r) => {
      onDone(`A forget request is filed for ${who}: their personal data is erased on ${formatTime(r.due_at, timeZone)}.`);
      setReason('');
      setTyped('');
      onClose();
    },
  );
  const confirmed = typed.trim().toLowerCase() === 'forget';
  return (
    <ActionModal
      opened={opened}
      onClose={onClose}
      title="Forget this member"
      confirm="Forget the member"
      danger
      busy={change.isPending}
      onConfirm={() => {
        if (confirmed) change.mutate(undefined);
      }}
      error={change.error}
      fields={['reason']}
    >
      <Alert color="red" title="Irreversible" role="alert">
        This files a forget request: when the grace period ends, {who}'s personal data (name, email, phone numbers, identifiers, address, profile) is erased for good and cannot be recovered. Until then it can be
        cancelled only through the Core API, not from this console.
      </Alert>
      <ReasonField value={reason} onChange={setReason} error={fieldError(change.error, 'reason')} />
      <TextInput label="Type forget to confirm" value={typed} onChange={(e) => setTyped(e.currentTarget.value)} error={typed && !confirmed ? 'Type the word forget' : undefined} autoComplete="off" />
    </ActionModal>
  );
}

// --- Merge --------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function Merge({ view, opened, onClose, onDone }: { view: MemberView; opened: boolean; onClose: () => void; onDone: (t: string) => void }) {
  const { retailerId } = useRetailer();
  const userId = view.profile.user_id;
  const [other, setOther] = useState('');
  const [reason, setReason] = useState('');
  const who = memberName(view.profile);
  const id = other.trim();
  // who the other member is, before anything is merged: by user id, or by external id (exact)
  const found = useQuery({
    queryKey: [retailerId, 'members', 'merge-preview', id],
    enabled: opened && id.length > 0,
    queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/members', { params: { path: { retailer_id: retailerId }, query: UUID.test(id) ? { q: id, limit: 5 } : { external_id: id, limit: 5 } } })),
  });
  const victim = found.data?.members.find((m) => m.user_id.toLowerCase() === id.toLowerCase() || m.external_id === id) ?? (found.data?.members.length === 1 ? found.data.members[0] : undefined);
  const change = useMemberChange(
    userId,
    () => ok(api.POST('/admin/tenants/{retailer_id}/members/{user_id}/merge', { params: { path: { retailer_id: retailerId, user_id: userId } }, body: { ...(UUID.test(id) ? { user_id: id } : { external_id: id }), ...reasonOf(reason) } })),
    () => {
      onDone(`${victim ? memberName(victim) : id} was merged into ${who}.`);
      setOther('');
      setReason('');
      onClose();
    },
  );
  return (
    <ActionModal opened={opened} onClose={onClose} title="Merge another member into this one" confirm="Merge into this member" danger busy={change.isPending} onConfirm={() => change.mutate(undefined)} error={change.error} fields={['user_id', 'external_id', 'reason']}>
      <TextInput label="Member to merge away" description={hint('Their user id or external id')} value={other} onChange={(e) => setOther(e.currentTarget.value)} error={fieldError(change.error, 'user_id') ?? fieldError(change.error, 'external_id')} autoComplete="off" />
      {id && (
        <Text size="sm" c={victim ? undefined : 'gray.7'}>
          {found.isFetching ? 'Looking the member up…' : victim ? `Found: ${memberName(victim)} (${victim.email ?? victim.external_id ?? victim.user_id})` : 'No active member found by that id yet: the API will say if it exists.'}
        </Text>
      )}
      <ReasonField value={reason} onChange={setReason} error={fieldError(change.error, 'reason')} />
      <Alert color="orange" title="This cannot be undone">
        {victim ? memberName(victim) : 'The other member'}'s points, offers, tags, tiers, campaign progress, events and transactions move to {who}, and {victim ? memberName(victim) : 'the other member'} is merged away.{' '}
        {who} is the member that stays.
      </Alert>
    </ActionModal>
  );
}

// --- The buttons --------------------------------------------------------------------------------

type Open = null | 'points' | 'offer' | 'tier' | 'restrict' | 'forget' | 'merge';

export function MemberActions({ view, onDone }: { view: MemberView; onDone: (t: string) => void }) {
  const { can } = useRetailer();
  const [open, setOpen] = useState<Open>(null);
  if (!can('members')) return null;
  const close = () => setOpen(null);
  const active = !isGone(view.profile.account_status);
  return (
    <Group gap="xs">
      <Button onClick={() => setOpen('points')} disabled={!active}>
        Adjust points
      </Button>
      <Button variant="default" onClick={() => setOpen('offer')} disabled={!active}>
        Issue offer
      </Button>
      <Button variant="default" onClick={() => setOpen('tier')} disabled={!active}>
        Move tier
      </Button>
      <Menu position="bottom-end" withinPortal>
        <Menu.Target>
          <Button variant="default">More actions</Button>
        </Menu.Target>
        <Menu.Dropdown>
          <Menu.Item onClick={() => setOpen('restrict')}>{view.profile.restricted ? 'Reinstate processing' : 'Restrict processing'}</Menu.Item>
          <Menu.Item onClick={() => setOpen('merge')} disabled={!active}>
            Merge another member in
          </Menu.Item>
          <Menu.Divider />
          <Menu.Item color="red.8" onClick={() => setOpen('forget')}>
            Forget this member
          </Menu.Item>
        </Menu.Dropdown>
      </Menu>
      <AdjustPoints view={view} opened={open === 'points'} onClose={close} onDone={onDone} />
      <IssueOffer view={view} opened={open === 'offer'} onClose={close} onDone={onDone} />
      <MoveTier view={view} opened={open === 'tier'} onClose={close} onDone={onDone} />
      <Restriction view={view} opened={open === 'restrict'} onClose={close} onDone={onDone} />
      <Forget view={view} opened={open === 'forget'} onClose={close} onDone={onDone} />
      <Merge view={view} opened={open === 'merge'} onClose={close} onDone={onDone} />
    </Group>
  );
}
