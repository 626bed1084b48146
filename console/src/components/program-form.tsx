// The program editor's form: the common fields of every section, each input named by its field path
// so that a validation message about that path (`rules.2.outcomes.0.amount: …`) is shown on it.
import { Accordion, Badge, Fieldset, Group, Select, SimpleGrid, Stack, Switch, Text, TextInput } from '@mantine/core';
import { createContext, useContext, type ReactNode } from 'react';
import { amountInput, conditionValue, fieldId, getAt, showValue, type ProgramDoc } from './program-draft';
import { programNames } from './program-view';

export interface FieldError {
  path: string;
  message: string;
}

interface FormContext {
  draft: ProgramDoc;
  set: (path: string, value: unknown) => void;
  error: FieldError | null;
}

/** Input descriptions dark enough for the contrast ratio on the filled fieldsets. */
export const readable = { root: { '--mantine-color-error': 'var(--mantine-color-red-9)' } as React.CSSProperties, description: { color: 'var(--mantine-color-gray-7)' } };

const Ctx = createContext<FormContext | null>(null);
const useForm = () => useContext(Ctx)!;

/** The message without its leading path: `must be greater than 0`. */
const bare = (e: FieldError) => (e.message.startsWith(`${e.path}:`) ? e.message.slice(e.path.length + 1).trim() : e.message);

function Field({ path, label, kind = 'text', required, description, placeholder }: { path: string; label: string; kind?: 'text' | 'number'; required?: boolean; description?: string; placeholder?: string }) {
  const { draft, set, error } = useForm();
  const here = error?.path === path ? error : null;
  return (
    <TextInput
      id={fieldId(path)}
      label={label}
      description={description}
      styles={readable}
      placeholder={placeholder}
      value={showValue(getAt(draft, path))}
      inputMode={kind === 'number' ? 'decimal' : undefined}
      error={here ? bare(here) : undefined}
      onChange={(e) => {
        const text = e.currentTarget.value;
        set(path, kind === 'number' ? amountInput(text) : text === '' && !required ? undefined : text);
      }}
    />
  );
}

function Choice({ path, label, data, onPick }: { path: string; label: string; data: { value: string; label: string }[]; onPick?: (value: string) => void }) {
  const { draft, set, error } = useForm();
  const here = error?.path === path ? error : null;
  return (
    <Select
      id={fieldId(path)}
      label={label}
      data={data}
      value={(getAt(draft, path) as string | undefined) ?? null}
      allowDeselect={false}
      error={here ? bare(here) : undefined}
      onChange={(v) => v !== null && (onPick ? onPick(v) : set(path, v))}
    />
  );
}

function Toggle({ path, label, absent = true }: { path: string; label: string; absent?: boolean }) {
  const { draft, set } = useForm();
  const value = getAt(draft, path);
  return <Switch id={fieldId(path)} label={label} checked={value === undefined ? absent : value === true} onChange={(e) => set(path, e.currentTarget.checked)} />;
}

function Group2({ legend, children }: { legend: string; children: ReactNode }) {
  return (
    <Fieldset legend={legend} variant="filled" p="sm">
      <Stack gap="xs">{children}</Stack>
    </Fieldset>
  );
}

const EXPIRY = [
  { value: 'never', label: 'Never expire' },
  { value: 'after', label: 'A time after earning' },
  { value: 'fixed_date', label: 'On a date every year' },
  { value: 'inactivity', label: 'After inactivity' },
];
const EXPIRY_DEFAULTS: Record<string, unknown> = { never: { policy: 'never' }, after: { policy: 'after', after: 'P12M' }, fixed_date: { policy: 'fixed_date', month: 12, day: 31 }, inactivity: { policy: 'inactivity', after: 'P12M' } };
const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'contains', 'exists'].map((v) => ({ value: v, label: v }));
const TRIGGERS = ['event', 'purchase', 'signup', 'profile_change', 'tag', 'tier_change'].map((v) => ({ value: v, label: v.replace('_', ' ') }));

type Rule = NonNullable<ProgramDoc['rules']>[number];
type Leaf = { fact: string; op: string; value?: unknown; within_seconds?: number };

/** The simple conditions of a rule and their paths: one condition, or an all/any list of them. */
function leaves(c: Rule['conditions'], base: string): { path: string; leaf: Leaf }[] | null {
  if (!c) return [];
  if ('fact' in c) return [{ path: base, leaf: c as Leaf }];
  const list = 'all' in c ? { key: 'all', xs: c.all } : 'any' in c ? { key: 'any', xs: c.any } : null;
  if (!list || list.xs.some((x) => !('fact' in x))) return null;
  return list.xs.map((x, i) => ({ path: `${base}.${list.key}.${i}`, leaf: x as Leaf }));
}

function RuleFields({ rule, i }: { rule: Rule; i: number }) {
  const { draft } = useForm();
  const base = `rules.${i}`;
  const conditions = leaves(rule.conditions, `${base}.conditions`);
  const accounts = (draft.point_accounts ?? []).map((a) => ({ value: a.id, label: a.name }));
  return (
    <Group2 legend={`Rule: ${rule.name || `#${i + 1}`}`}>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Field path={`${base}.name`} label="Name" required />
        <Toggle path={`${base}.active`} label="Active" />
        <Choice path={`${base}.trigger.type`} label="Trigger" data={TRIGGERS} />
        <Field path={`${base}.trigger.name`} label="Trigger name" description="The event, tag or tier level; empty: any" />
      </SimpleGrid>
      <Text size="sm" fw={500}>
        Conditions
      </Text>
      {conditions === null ? (
        <Text size="sm" c="gray.7">
          Nested conditions: edit them in the YAML tab.
        </Text>
      ) : conditions.length === 0 ? (
        <Text size="sm" c="gray.7">
          None: the rule applies whenever its trigger happens. Add conditions in the YAML tab.
        </Text>
      ) : (
        conditions.map(({ path, leaf }, j) => (
          <SimpleGrid key={path} cols={{ base: 1, md: 3 }}>
            <Field path={`${path}.fact`} label={`Condition ${j + 1}: fact`} required />
            <Choice path={`${path}.op`} label={`Condition ${j + 1}: operator`} data={OPS} />
            <ConditionValue path={`${path}.value`} label={`Condition ${j + 1}: value`} disabled={leaf.op === 'exists'} />
          </SimpleGrid>
        ))
      )}
      <Text size="sm" fw={500}>
        Outcomes
      </Text>
      {rule.outcomes.map((o, j) => {
        const at = `${base}.outcomes.${j}`;
        const n = rule.outcomes.length > 1 ? ` ${j + 1}` : '';
        if (o.type === 'points') {
          return (
            <SimpleGrid key={j} cols={{ base: 1, md: 3 }}>
              {typeof o.amount === 'object' ? (
                <>
                  <Field path={`${at}.amount.points`} label={`Points${n}`} kind="number" placeholder="1" description={`per ${showValue(o.amount.per)} of ${o.amount.of}`} />
                  <Field path={`${at}.amount.per`} label={`Per${n}`} kind="number" />
                  <Field path={`${at}.amount.of`} label={`Of (context field)${n}`} required />
                </>
              ) : (
                <Field path={`${at}.amount`} label={`Points${n}`} kind="number" required />
              )}
              <Choice path={`${at}.point_account_id`} label={`Into account${n}`} data={accounts} />
            </SimpleGrid>
          );
        }
        if (o.type === 'offer') return <Choice key={j} path={`${at}.offer_id`} label={`Offer issued${n}`} data={(draft.offers ?? []).map((x) => ({ value: x.root_offer_id, label: x.internal_title }))} />;
        if (o.type === 'tag')
          return (
            <SimpleGrid key={j} cols={{ base: 1, md: 2 }}>
              <Field path={`${at}.tag`} label={`Tag${n}`} required />
              <Field path={`${at}.ttl`} label={`Tag lasts (seconds)${n}`} kind="number" description="Empty: a counter tag" />
            </SimpleGrid>
          );
        if (o.type === 'tier') return <Choice key={j} path={`${at}.tier_level_id`} label={`Tier level${n}`} data={(draft.tier_systems ?? []).flatMap((t) => t.levels.map((l) => ({ value: l.id, label: `${t.name}: ${l.name}` })))} />;
        return (
          <SimpleGrid key={j} cols={{ base: 1, md: 2 }}>
            <Field path={`${at}.name`} label={`Attribute${n}`} required />
            <Field path={`${at}.from`} label={`From context field${n}`} />
          </SimpleGrid>
        );
      })}
    </Group2>
  );
}

function ConditionValue({ path, label, disabled }: { path: string; label: string; disabled?: boolean }) {
  const { draft, set, error } = useForm();
  const here = error?.path === path ? error : null;
  return (
    <TextInput
      id={fieldId(path)}
      label={label}
      disabled={disabled}
      description="Text, a number, true/false or a JSON list"
      styles={readable}
      value={showValue(getAt(draft, path))}
      error={here ? bare(here) : undefined}
      onChange={(e) => set(path, conditionValue(e.currentTarget.value))}
    />
  );
}

export const FORM_SECTIONS = ['retailer', 'stores', 'point_accounts', 'point_sources', 'tier_systems', 'offers', 'reward_stores', 'campaigns', 'rules'] as const;

export function ProgramForm({ draft, set, error, opened, setOpened }: FormContext & { opened: string[]; setOpened: (v: string[]) => void }) {
  const names = programNames(draft);
  const count = (xs: unknown[] | undefined) => <Badge variant="light">{xs?.length ?? 0}</Badge>;
  const item = (value: string, title: string, badge: ReactNode, children: ReactNode) => (
    <Accordion.Item value={value}>
      <Accordion.Control>
        <Group gap="xs">
          <Text fw={500}>{title}</Text>
          {badge}
        </Group>
      </Accordion.Control>
      <Accordion.Panel>
        <Stack gap="sm">{children}</Stack>
      </Accordion.Panel>
    </Accordion.Item>
  );
  return (
    <Ctx.Provider value={{ draft, set, error }}>
      <Accordion multiple value={opened} onChange={setOpened} variant="separated">
        {item(
          'retailer',
          'Retailer',
          null,
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <Field path="retailer.name" label="Retailer name" required />
            <Field path="retailer.time_zone" label="Time zone" placeholder="UTC" description="IANA, e.g. America/New_York" />
          </SimpleGrid>,
        )}
        {item(
          'stores',
          'Stores',
          count(draft.stores),
          (draft.stores ?? []).map((s, i) => (
            <Group2 key={i} legend={`Store: ${s.name || `#${i + 1}`}`}>
              <SimpleGrid cols={{ base: 1, md: 3 }}>
                <Field path={`stores.${i}.name`} label="Name" required />
                <Field path={`stores.${i}.external_id`} label="External id" />
                <Field path={`stores.${i}.time_zone`} label="Time zone" />
              </SimpleGrid>
            </Group2>
          )),
        )}
        {item(
          'point_accounts',
          'Point accounts and expiry',
          count(draft.point_accounts),
          (draft.point_accounts ?? []).map((a, i) => {
            const at = `point_accounts.${i}`;
            const policy = a.expiry?.policy ?? 'never';
            return (
              <Group2 key={i} legend={`Account: ${a.name || `#${i + 1}`}`}>
                <SimpleGrid cols={{ base: 1, md: 3 }}>
                  <Field path={`${at}.name`} label="Name" required />
                  <Choice path={`${at}.expiry.policy`} label="Expiry" data={EXPIRY} onPick={(v) => set(`${at}.expiry`, EXPIRY_DEFAULTS[v])} />
                  {(policy === 'after' || policy === 'inactivity') && <Field path={`${at}.expiry.after`} label="Expire after" description="ISO 8601: P12M, P30D" required />}
                  {policy === 'fixed_date' && (
                    <>
                      <Field path={`${at}.expiry.month`} label="Expiry month" kind="number" required />
                      <Field path={`${at}.expiry.day`} label="Expiry day" kind="number" required />
                    </>
                  )}
                  <Field path={`${at}.maximum_balance`} label="Maximum balance" kind="number" description="Empty: none" />
                </SimpleGrid>
              </Group2>
            );
          }),
        )}
        {item(
          'point_sources',
          'Point sources',
          count(draft.point_sources),
          (draft.point_sources ?? []).map((s, i) => <Field key={i} path={`point_sources.${i}.name`} label={`Point source ${i + 1}: name`} required />),
        )}
        {item(
          'tier_systems',
          'Tiers and levels',
          count(draft.tier_systems),
          (draft.tier_systems ?? []).map((t, i) => (
            <Group2 key={i} legend={`Tier system: ${t.name || `#${i + 1}`}`}>
              <SimpleGrid cols={{ base: 1, md: 2 }}>
                <Field path={`tier_systems.${i}.name`} label="Name" required />
                <Field path={`tier_systems.${i}.period_days`} label="Period (days)" kind="number" description="Empty: lifetime points" />
              </SimpleGrid>
              {t.levels.map((l, j) => (
                <SimpleGrid key={j} cols={{ base: 1, md: 3 }}>
                  <Field path={`tier_systems.${i}.levels.${j}.name`} label={`Level ${l.rank}: name`} required />
                  {(l.thresholds ?? []).map((th, k) => (
                    <Field key={k} path={`tier_systems.${i}.levels.${j}.thresholds.${k}.points`} label={`${l.name}: threshold in ${names.get(th.point_account_id) ?? th.point_account_id}`} kind="number" required />
                  ))}
                </SimpleGrid>
              ))}
            </Group2>
          )),
        )}
        {item(
          'offers',
          'Offers',
          count(draft.offers),
          (draft.offers ?? []).map((o, i) => (
            <Group2 key={i} legend={`Offer: ${o.internal_title || `#${i + 1}`}`}>
              <SimpleGrid cols={{ base: 1, md: 2 }}>
                <Field path={`offers.${i}.internal_title`} label="Internal title" required />
                <Choice path={`offers.${i}.status`} label="Status" data={[{ value: 'active', label: 'active' }, { value: 'inactive', label: 'inactive' }]} />
                {(o.texts ?? []).map((x, j) => (
                  <Stack key={j} gap="xs">
                    <Field path={`offers.${i}.texts.${j}.title`} label={`Title (${x.culture})`} required />
                    <Field path={`offers.${i}.texts.${j}.description`} label={`Description (${x.culture})`} />
                  </Stack>
                ))}
              </SimpleGrid>
            </Group2>
          )),
        )}
        {item(
          'reward_stores',
          'Reward stores',
          count(draft.reward_stores),
          (draft.reward_stores ?? []).map((s, i) => (
            <Group2 key={i} legend={`Reward store: ${s.internal_name || `#${i + 1}`}`}>
              <Field path={`reward_stores.${i}.internal_name`} label="Internal name" required />
              <SimpleGrid cols={{ base: 1, md: 2 }}>
                {s.offers.map((o, j) => (
                  <Field key={j} path={`reward_stores.${i}.offers.${j}.price`} label={`Price of ${names.get(o.offer_id) ?? o.offer_id} (points)`} kind="number" required />
                ))}
              </SimpleGrid>
            </Group2>
          )),
        )}
        {item(
          'campaigns',
          'Campaigns',
          count(draft.campaigns),
          (draft.campaigns ?? []).map((c, i) => (
            <Group2 key={i} legend={`Campaign: ${c.name || `#${i + 1}`}`}>
              <SimpleGrid cols={{ base: 1, md: 3 }}>
                <Field path={`campaigns.${i}.name`} label="Name" required />
                <Field path={`campaigns.${i}.start_date`} label="Starts (UTC)" description="ISO 8601 or YYYY-MM-DD HH:MM:SS" required />
                <Field path={`campaigns.${i}.end_date`} label="Ends (UTC)" description="Empty: no end" />
              </SimpleGrid>
            </Group2>
          )),
        )}
        {item(
          'rules',
          'Rules',
          count(draft.rules),
          (draft.rules ?? []).map((r, i) => <RuleFields key={i} rule={r} i={i} />),
        )}
      </Accordion>
    </Ctx.Provider>
  );
}
