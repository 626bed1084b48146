// One member's whole picture (GET …/members/{user_id}): profile, tiers, points and their ledger,
// offers, campaign progress, the timeline and privacy requests, in tabs; and, for a role that
// may change members, the actions support takes, each confirmed in a modal first.
import { Alert, Anchor, Badge, Group, Stack, Tabs, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, ApiError, ok } from '../api';
import { MemberActions, useNotice } from '../components/member-actions';
import { MemberCampaigns, MemberPrivacy } from '../components/member-extra';
import { memberKey, memberName, StatusBadge, statusColor, statusLabel } from '../components/member-format';
import { MemberLedger } from '../components/member-ledger';
import { MemberOffers } from '../components/member-offers';
import { MemberOverview, MemberPoints } from '../components/member-overview';
import { MemberTimeline } from '../components/member-timeline';
import { Failure, Pending } from '../components/states';
import { formatCount } from '../format';
import { useRetailer } from '../session';

const TABS = ['overview', 'points', 'offers', 'campaigns', 'timeline', 'privacy'] as const;

export default function Member() {
  const { retailerId } = useRetailer();
  const { userId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = TABS.find((t) => t === params.get('tab')) ?? 'overview';
  const notice = useNotice();

  const view = useQuery({
    queryKey: memberKey(retailerId, userId),
    queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/members/{user_id}', { params: { path: { retailer_id: retailerId, user_id: userId } } })),
    retry: (count, e) => !(e instanceof ApiError && e.status < 500) && count < 2,
  });

  const back = (
    <Anchor component={Link} to={`/r/${retailerId}/members`} size="sm">
      ← Members
    </Anchor>
  );
  if (view.isPending) return <Pending />;
  if (view.error)
    return (
      <Stack>
        {back}
        <Failure error={view.error instanceof ApiError && view.error.status === 404 ? new Error('No member of this retailer has this id.') : view.error} retry={() => view.refetch()} />
      </Stack>
    );
  const m = view.data;
  const p = m.profile;

  return (
    <Stack>
      {back}
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Title order={2}>{memberName(p)}</Title>
          <Group gap="xs">
            {p.email && <Text size="sm">{p.email}</Text>}
            <StatusBadge color={statusColor(p.account_status)}>
              {statusLabel(p.account_status)}
            </StatusBadge>
            {p.restricted && p.account_status !== 'restricted' && <Badge color="orange" tt="none">Restricted</Badge>}
            {p.suspended && <Badge color="red">Suspended</Badge>}
            {p.test_account && <Badge color="gray">Test account</Badge>}
          </Group>
        </Stack>
        <MemberActions view={m} onDone={notice.show} />
      </Group>
      {notice.text && (
        <Alert color="teal" role="status" withCloseButton closeButtonLabel="Dismiss" onClose={notice.clear}>
          {notice.text}
        </Alert>
      )}
      <Tabs value={tab} onChange={(t) => setParams(t && t !== 'overview' ? { tab: t } : {}, { replace: true })} keepMounted={false}>
        <Tabs.List style={{ flexWrap: 'nowrap', overflowX: 'auto', overflowY: 'hidden' }}>
          <Tabs.Tab value="overview">Overview</Tabs.Tab>
          <Tabs.Tab value="points">Points</Tabs.Tab>
          <Tabs.Tab value="offers">Offers ({formatCount(m.offers.total)})</Tabs.Tab>
          <Tabs.Tab value="campaigns">Campaigns ({formatCount(m.campaigns.length)})</Tabs.Tab>
          <Tabs.Tab value="timeline">Timeline</Tabs.Tab>
          <Tabs.Tab value="privacy">Privacy ({formatCount(m.privacy_requests.length)})</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="overview" pt="md">
          <MemberOverview view={m} />
        </Tabs.Panel>
        <Tabs.Panel value="points" pt="md">
          <Stack gap="xl">
            <MemberPoints view={m} />
            <MemberLedger view={m} />
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="offers" pt="md">
          <MemberOffers view={m} onDone={notice.show} />
        </Tabs.Panel>
        <Tabs.Panel value="campaigns" pt="md">
          <MemberCampaigns view={m} />
        </Tabs.Panel>
        <Tabs.Panel value="timeline" pt="md">
          <MemberTimeline userId={p.user_id} />
        </Tabs.Panel>
        <Tabs.Panel value="privacy" pt="md">
          <MemberPrivacy view={m} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
