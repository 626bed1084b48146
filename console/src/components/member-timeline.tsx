// The member's timeline (GET …/timeline), newest first, as an infinite scroll: when the sentinel
// at the end of the list comes into view in its scroll box, the next page is asked for (a button
// does the same for the keyboard).
import { Badge, Box, Button, Group, Paper, Stack, Text } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { api, ok, type Schemas } from '../api';
import { formatAmount, formatCount, formatTime } from '../format';
import { useRetailer } from '../session';
import { memberKey, slugWords } from './member-format';
import { Empty, Failure, Pending } from './states';

export const TIMELINE_PAGE = 20;

type Entry = Schemas['AdminTimelineEntry'];

/** The payload's plain fields as `key: value` (amounts formatted), never raw JSON. */
function details(payload: Entry['payload']): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(payload ?? {})) {
    if (value === null || value === undefined || value === '') continue;
    if (typeof value === 'object') continue;
    // what the entry's heading, time and author already say
    if (key.startsWith('event_') || key === 'request_id' || key.endsWith('_at') || key === 'rewards_system_id') continue;
    const text = typeof value === 'number' || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) && /amount|points|balance|value|quantity/i.test(key)) ? formatAmount(String(value)) : String(value);
    out.push(`${key.replace(/_/g, ' ')}: ${text}`);
    if (out.length >= 8) break;
  }
  return out;
}

export function MemberTimeline({ userId }: { userId: string }) {
  const { retailerId, timeZone } = useRetailer();
  const box = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const timeline = useInfiniteQuery({
    queryKey: [...memberKey(retailerId, userId), 'timeline'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      ok(api.GET('/admin/tenants/{retailer_id}/members/{user_id}/timeline', { params: { path: { retailer_id: retailerId, user_id: userId }, query: { limit: TIMELINE_PAGE, before: pageParam } } })),
    getNextPageParam: (last) => last.next_before ?? undefined,
  });
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = timeline;
  const entries = timeline.data?.pages.flatMap((p) => p.entries) ?? [];

  useEffect(() => {
    const target = sentinel.current;
    if (!target || !hasNextPage) return;
    const observer = new IntersectionObserver(
      (seen) => {
        if (seen.some((s) => s.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
      },
      { root: box.current, rootMargin: '0px 0px 120px 0px' },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage, entries.length]);

  if (timeline.isPending) return <Pending />;
  if (timeline.error && !timeline.data) return <Failure error={timeline.error} retry={() => timeline.refetch()} />;
  if (entries.length === 0) return <Empty>Nothing has happened to this member yet.</Empty>;

  return (
    <Stack gap="xs">
      <Text size="sm" c="gray.7" aria-live="polite">
        {hasNextPage ? `${formatCount(entries.length)} entries loaded; scroll for older ones` : `All ${formatCount(entries.length)} entries`}
      </Text>
      <Box ref={box} mah={560} style={{ overflowY: 'auto' }} tabIndex={0} role="region" aria-label="Timeline entries">
        <Stack gap="xs" component="ol" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
          {entries.map((e, i) => (
            <Paper key={`${e.occurred_at}-${i}`} component="li" withBorder p="sm" data-testid="timeline-entry">
              <Group justify="space-between" wrap="wrap" gap="xs">
                <Group gap="xs">
                  <Text fw={500} size="sm">
                    {slugWords(e.event_type)}
                  </Text>
                  {e.event_category && (
                    <Badge size="sm" variant="default">
                      {e.event_category.toLowerCase()}
                    </Badge>
                  )}
                </Group>
                <Text size="sm" c="gray.7">
                  {formatTime(e.occurred_at, timeZone)}
                </Text>
              </Group>
              {details(e.payload).length > 0 && (
                <Text size="xs" c="gray.7" mt={4}>
                  {details(e.payload).join(' · ')}
                </Text>
              )}
              {e.request_id && (
                <Text size="xs" c="gray.7">
                  by {e.request_id}
                </Text>
              )}
            </Paper>
          ))}
        </Stack>
        <div ref={sentinel} aria-hidden="true" style={{ height: 1 }} />
        {timeline.error && <Failure error={timeline.error} retry={() => fetchNextPage()} />}
        {hasNextPage && (
          <Group justify="center" py="sm">
            <Button variant="default" size="xs" onClick={() => fetchNextPage()} loading={isFetchingNextPage}>
              Load older entries
            </Button>
          </Group>
        )}
      </Box>
    </Stack>
  );
}
