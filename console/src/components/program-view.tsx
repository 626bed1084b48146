// The program, section by section, as a reader takes it in: names rather than ids, amounts and
// times formatted, each offer's texts and pictures, each rule's trigger, conditions and outcomes.
import { Anchor, Badge, Card, Group, Image, List, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { formatAmount, formatCount, formatTime } from '../format';
import { Empty } from './states';
import type { ProgramDoc } from './program-draft';

type Rule = NonNullable<ProgramDoc['rules']>[number];
type Account = NonNullable<ProgramDoc['point_accounts']>[number];
type Condition = NonNullable<Rule['conditions']>;
type Outcome = Rule['outcomes'][number];

/** id → name for the accounts, sources, levels, offers and stores the program names. */
export function programNames(p: ProgramDoc): Map<string, string> {
  const names = new Map<string, string>();
  p.point_accounts?.forEach((a) => names.set(a.id, a.name));
  p.point_sources?.forEach((s) => names.set(s.id, s.name));
  p.tier_systems?.forEach((t) => {
    names.set(t.id, t.name);
    t.levels.forEach((l) => names.set(l.id, l.name));
  });
  p.offers?.forEach((o) => {
    names.set(o.root_offer_id, o.internal_title);
    if (o.id) names.set(o.id, o.internal_title);
  });
  p.stores?.forEach((s) => names.set(s.id, s.name));
  return names;
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** `P12M` → `12 months`; anything else as written. */
export function duration(iso: string): string {
  const m = DURATION.exec(iso);
  if (!m) return iso;
  const units = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'];
  const parts = m.slice(1).flatMap((v, i) => (v ? [`${formatCount(Number(v))} ${units[i]}${v === '1' ? '' : 's'}`] : []));
  return parts.join(' ') || iso;
}

export function seconds(n: number | null | undefined): string {
  if (n === null || n === undefined) return 'unlimited';
  if (n % 86400 === 0) return `${formatCount(n / 86400)} day${n === 86400 ? '' : 's'}`;
  if (n % 3600 === 0) return `${formatCount(n / 3600)} hour${n === 3600 ? '' : 's'}`;
  return `${formatCount(n)} seconds`;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export function expiryText(e: Account['expiry']): string {
  if (!e || e.policy === 'never') return 'Never expire';
  if (e.policy === 'after') return `Expire ${duration(e.after)} after earning${e.round_to ? `, at the end of the ${e.round_to}` : ''}`;
  if (e.policy === 'fixed_date') return `Expire every ${MONTHS[e.month - 1] ?? e.month} ${e.day}`;
  return `Expire after ${duration(e.after)} without activity`;
}

const OPS: Record<string, string> = { eq: 'is', ne: 'is not', gt: '>', gte: '≥', lt: '<', lte: '≤', in: 'is one of', not_in: 'is none of', contains: 'contains', exists: 'exists' };

export function conditionText(c: Condition): string {
  if ('all' in c) return c.all.length ? c.all.map((x) => conditionText(x as Condition)).join(' and ') : 'always';
  if ('any' in c) return `(${c.any.map((x) => conditionText(x as Condition)).join(' or ')})`;
  if ('not' in c) return `not (${conditionText(c.not as Condition)})`;
  const value = c.op === 'exists' || c.value === undefined ? '' : ` ${typeof c.value === 'string' ? `“${c.value}”` : JSON.stringify(c.value)}`;
  return `${c.fact} ${OPS[c.op] ?? c.op}${value}${c.within_seconds ? ` within ${seconds(c.within_seconds)}` : ''}`;
}

export function outcomeText(o: Outcome, names: Map<string, string>): string {
  const name = (id: string) => names.get(id) ?? id;
  switch (o.type) {
    case 'points': {
      const a = o.amount;
      const amount = typeof a === 'object' ? `${formatAmount(a.points ?? 1)} per ${formatAmount(a.per)} of ${a.of}` : formatAmount(a);
      return `${amount} points into ${name(o.point_account_id)}${o.point_source_id ? ` (source: ${name(o.point_source_id)})` : ''}`;
    }
    case 'offer':
      return `Issue offer ${name(o.offer_id)}`;
    case 'tag':
      return `Tag “${o.tag}”${o.ttl ? ` for ${seconds(o.ttl)}` : ''}`;
    case 'tier':
      return `Move to tier level ${name(o.tier_level_id)}`;
    case 'attribute':
      return `Set attribute ${o.name} to ${o.from ? `context.${o.from}` : JSON.stringify(o.value)}`;
  }
}

function triggerText(t: Rule['trigger']): string {
  const what: Record<string, string> = { event: 'Event', purchase: 'A purchase', signup: 'A signup', profile_change: 'A profile change', tag: 'Tag', tier_change: 'Reaching tier level' };
  return `${what[t.type] ?? t.type}${t.name ? ` ${t.name}` : ''}`;
}

function limitsText(l: Rule['limits']): string[] {
  if (!l) return [];
  const out: string[] = [];
  if (l.total !== undefined) out.push(`at most ${formatCount(l.total)} times per member`);
  if (l.per_period) out.push(`at most ${formatCount(l.per_period.count)} per ${seconds(l.per_period.seconds)}`);
  if (l.min_seconds_between !== undefined) out.push(`at least ${seconds(l.min_seconds_between)} apart`);
  if (l.consecutive_days !== undefined) out.push(`on ${formatCount(l.consecutive_days)} consecutive days`);
  return out;
}

function Section({ title, count, children }: { title: string; count?: number; children: ReactNode }) {
  return (
    <Card withBorder component="section" aria-label={title} padding="md">
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h4">
          {title}
        </Title>
        {count !== undefined && <Badge variant="light">{formatCount(count)}</Badge>}
      </Group>
      {children}
    </Card>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Text size="sm">
      <Text span c="gray.7" size="sm">
        {label}:{' '}
      </Text>
      {children}
    </Text>
  );
}

const when = (iso: string | undefined, timeZone: string) => (iso ? formatTime(iso.includes('T') ? iso : `${iso.replace(' ', 'T')}Z`, timeZone) : '—');

export function ProgramSections({ program: p, timeZone }: { program: ProgramDoc; timeZone: string }) {
  const names = programNames(p);
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Section title="Retailer">
          {p.retailer ? (
            <Stack gap={4}>
              <Fact label="Name">{p.retailer.name}</Fact>
              <Fact label="Time zone">{p.retailer.time_zone ?? 'UTC'}</Fact>
            </Stack>
          ) : (
            <Empty>Not set.</Empty>
          )}
        </Section>
        <Section title="Stores" count={p.stores?.length ?? 0}>
          {p.stores?.length ? (
            <List spacing={4} size="sm">
              {p.stores.map((s) => (
                <List.Item key={s.id}>
                  {s.name}
                  {s.external_id ? ` (${s.external_id})` : ''}
                  {s.time_zone ? ` · ${s.time_zone}` : ''}
                </List.Item>
              ))}
            </List>
          ) : (
            <Empty>No stores.</Empty>
          )}
        </Section>
      </SimpleGrid>

      <Section title="Point accounts and expiry" count={p.point_accounts?.length ?? 0}>
        {p.point_accounts?.length ? (
          <Table.ScrollContainer minWidth={640}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Account</Table.Th>
                  <Table.Th>Expiry</Table.Th>
                  <Table.Th>Maximum balance</Table.Th>
                  <Table.Th>Notes</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {p.point_accounts.map((a) => (
                  <Table.Tr key={a.id}>
                    <Table.Td>{a.name}</Table.Td>
                    <Table.Td>{expiryText(a.expiry)}</Table.Td>
                    <Table.Td>{a.maximum_balance === undefined ? 'none' : formatAmount(a.maximum_balance)}</Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {a.default && <Badge variant="light">default</Badge>}
                        {a.counts_toward_tiers && <Badge variant="default">counts toward tiers</Badge>}
                        {a.allow_negative && <Badge variant="default">may go negative</Badge>}
                        {a.active === false && <Badge variant="default">inactive</Badge>}
                        {a.pending_for && <Text size="xs">pending {duration(a.pending_for)}</Text>}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        ) : (
          <Empty>No point accounts.</Empty>
        )}
      </Section>

      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Section title="Point sources" count={p.point_sources?.length ?? 0}>
          {p.point_sources?.length ? (
            <List spacing={4} size="sm">
              {p.point_sources.map((s) => (
                <List.Item key={s.id}>
                  {s.name}
                  {s.point_account_ids?.length ? ` → ${s.point_account_ids.map((id) => names.get(id) ?? id).join(', ')}` : ' → any account'}
                </List.Item>
              ))}
            </List>
          ) : (
            <Empty>No point sources.</Empty>
          )}
        </Section>
        <Section title="Custom attributes" count={p.custom_attributes?.length ?? 0}>
          {p.custom_attributes?.length ? (
            <Group gap={6}>
              {p.custom_attributes.map((a) => (
                <Badge key={a.name} variant="outline" tt="none">
                  {a.name} · {a.type}
                </Badge>
              ))}
            </Group>
          ) : (
            <Empty>No custom attributes.</Empty>
          )}
        </Section>
      </SimpleGrid>

      <Section title="Tiers and levels" count={p.tier_systems?.length ?? 0}>
        {p.tier_systems?.length ? (
          <Stack>
            {p.tier_systems.map((t) => (
              <Stack key={t.id} gap={4}>
                <Text fw={600}>
                  {t.name} <Text span c="gray.7" size="sm">({t.period_days ? `points of the last ${formatCount(t.period_days)} days` : 'lifetime points'})</Text>
                </Text>
                <Table.ScrollContainer minWidth={480}>
                  <Table>
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>Rank</Table.Th>
                        <Table.Th>Level</Table.Th>
                        <Table.Th>Threshold</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {[...t.levels]
                        .sort((a, b) => a.rank - b.rank)
                        .map((l) => (
                          <Table.Tr key={l.id}>
                            <Table.Td>{l.rank}</Table.Td>
                            <Table.Td>{l.name}</Table.Td>
                            <Table.Td>{l.thresholds?.length ? l.thresholds.map((th) => `${formatAmount(th.points)} ${names.get(th.point_account_id) ?? th.point_account_id}`).join(' and ') : 'start level'}</Table.Td>
                          </Table.Tr>
                        ))}
                    </Table.Tbody>
                  </Table>
                </Table.ScrollContainer>
              </Stack>
            ))}
          </Stack>
        ) : (
          <Empty>No tier systems.</Empty>
        )}
      </Section>

      <Section title="Offers" count={p.offers?.length ?? 0}>
        {p.offers?.length ? (
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            {p.offers.map((o) => {
              const text = o.texts?.find((x) => x.culture === o.default_culture) ?? o.texts?.[0];
              return (
                <Card key={o.root_offer_id} withBorder padding="sm" component="article" aria-label={`Offer: ${o.internal_title}`}>
                  <Group align="flex-start" wrap="nowrap">
                    {o.media?.map((m) =>
                      m.uri.startsWith('https:') ? (
                        <Image key={m.uri} src={m.uri} alt={text?.title ?? o.internal_title} w={72} h={72} fit="contain" radius="sm" />
                      ) : null,
                    )}
                    <Stack gap={2} style={{ minWidth: 0 }}>
                      <Group gap={6}>
                        <Text fw={600}>{o.internal_title}</Text>
                        <Badge variant={o.status === 'inactive' ? 'default' : 'light'}>
                          {o.status ?? 'active'}
                        </Badge>
                      </Group>
                      <Text size="xs" c="gray.7">
                        {o.offer_type.replace(/_/g, ' ')}
                        {o.amount !== undefined ? ` · amount ${formatAmount(o.amount)}` : ''}
                        {o.points !== undefined ? ` · ${formatAmount(o.points)} points` : ''}
                      </Text>
                      {o.texts?.map((x) => (
                        <Text size="sm" key={x.culture}>
                          <b>{x.title}</b> ({x.culture}){x.description ? `: ${x.description}` : ''}
                          {x.terms ? <Text span size="xs" c="gray.7"> · Terms: {x.terms}</Text> : null}
                        </Text>
                      ))}
                      <Text size="xs" c="gray.7">
                        Acquire from {when(o.acquisition_start_date, timeZone)}
                        {o.acquisition_end_date ? ` to ${when(o.acquisition_end_date, timeZone)}` : ''} ·{' '}
                        {o.does_not_expire ? 'does not expire' : o.redemption_days ? `redeem within ${formatCount(o.redemption_days)} days` : o.redemption_end_date ? `redeem until ${when(o.redemption_end_date, timeZone)}` : 'redeem any time'}
                      </Text>
                      {o.media?.map((m) =>
                        m.uri.startsWith('https:') ? null : (
                          <Text size="xs" key={m.uri} style={{ overflowWrap: 'anywhere' }}>
                            Image ({m.category_name ?? 'media'}, not shown: not HTTPS): <Anchor href={m.uri} target="_blank" rel="noreferrer" size="xs">{m.uri}</Anchor>
                          </Text>
                        ),
                      )}
                    </Stack>
                  </Group>
                </Card>
              );
            })}
          </SimpleGrid>
        ) : (
          <Empty>No offers.</Empty>
        )}
      </Section>

      <Section title="Reward stores" count={p.reward_stores?.length ?? 0}>
        {p.reward_stores?.length ? (
          <Stack>
            {p.reward_stores.map((s) => (
              <Stack key={s.id} gap={4}>
                <Text fw={600}>{s.internal_name}</Text>
                <Text size="sm" c="gray.7">
                  Paid from {names.get(s.point_account_id) ?? s.point_account_id} · open {when(s.start_date, timeZone)}
                  {s.end_date ? ` to ${when(s.end_date, timeZone)}` : ''}
                  {s.texts?.length ? ` · “${s.texts[0].name}”${s.texts[0].description ? `: ${s.texts[0].description}` : ''}` : ''}
                </Text>
                <Table.ScrollContainer minWidth={480}>
                  <Table>
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>Offer</Table.Th>
                        <Table.Th>Price (points)</Table.Th>
                        <Table.Th>Limits</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {s.offers.map((o) => (
                        <Table.Tr key={o.id}>
                          <Table.Td>{names.get(o.offer_id) ?? o.offer_id}</Table.Td>
                          <Table.Td>{formatAmount(o.price)}</Table.Td>
                          <Table.Td>
                            {[o.per_member_limit !== undefined && `${formatCount(o.per_member_limit)} per member`, o.total_limit !== undefined && `${formatCount(o.total_limit)} in all`].filter(Boolean).join(', ') || 'none'}
                          </Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Table.ScrollContainer>
              </Stack>
            ))}
          </Stack>
        ) : (
          <Empty>No reward stores.</Empty>
        )}
      </Section>

      <Section title="Campaigns" count={p.campaigns?.length ?? 0}>
        {p.campaigns?.length ? (
          <Stack>
            {p.campaigns.map((c) => (
              <Stack key={c.id} gap={4} component="article" aria-label={`Campaign: ${c.name}`}>
                <Text fw={600}>
                  {c.name}{' '}
                  <Text span size="sm" c="gray.7">
                    #{c.id} · {when(c.start_date, timeZone)} to {when(c.end_date, timeZone)}
                  </Text>
                </Text>
                {c.behaviors?.length ? (
                  <List size="sm" spacing={2}>
                    {c.behaviors.map((b) => (
                      <List.Item key={b.id}>
                        Behaviour {b.name} ({b.type}){b.points ? `: ${formatCount(b.points)} points` : ''}, repeatable {b.max_times_repeatable === null || b.max_times_repeatable === undefined ? 'without limit' : `${formatCount(b.max_times_repeatable)} times`}
                        {b.goals?.length ? (
                          <List size="sm" withPadding>
                            {b.goals.map((g) => (
                              <List.Item key={g.name}>
                                Goal {g.name}: {formatCount(g.earn_count ?? 1)} × {g.event_name}
                                {g.required === false ? ' (optional)' : ''}
                                {g.points ? `, ${formatCount(g.points)} points` : ''}
                              </List.Item>
                            ))}
                          </List>
                        ) : b.count_event ? (
                          ` — ${formatCount(b.earn_count ?? 1)} × ${b.count_event}`
                        ) : null}
                      </List.Item>
                    ))}
                  </List>
                ) : (
                  <Text size="sm" c="gray.7">
                    No behaviours.
                  </Text>
                )}
              </Stack>
            ))}
          </Stack>
        ) : (
          <Empty>No campaigns.</Empty>
        )}
      </Section>

      <Section title="Rules" count={p.rules?.length ?? 0}>
        {p.rules?.length ? (
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            {p.rules.map((r) => (
              <Card key={r.id} withBorder padding="sm" component="article" aria-label={`Rule: ${r.name}`}>
                <Group gap={6} mb={4}>
                  <Text fw={600}>{r.name}</Text>
                  {r.active === false && <Badge variant="default">inactive</Badge>}
                </Group>
                <Fact label="When">{triggerText(r.trigger)}</Fact>
                <Fact label="If">{r.conditions ? conditionText(r.conditions) : 'always'}</Fact>
                {limitsText(r.limits).length > 0 && <Fact label="Limits">{limitsText(r.limits).join(', ')}</Fact>}
                <Text size="sm" c="gray.7" mt={4}>
                  Then:
                </Text>
                <List size="sm" spacing={2}>
                  {r.outcomes.map((o, i) => (
                    <List.Item key={i}>{outcomeText(o, names)}</List.Item>
                  ))}
                </List>
              </Card>
            ))}
          </SimpleGrid>
        ) : (
          <Empty>No rules.</Empty>
        )}
      </Section>
    </Stack>
  );
}
