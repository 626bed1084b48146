// The frame around every retailer screen: the navigation (only what the role allows), the
// retailer switcher for operators of several retailers, and sign-out.
import { AppShell, Burger, Button, Group, NavLink, Select, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Suspense } from 'react';
import { Navigate, NavLink as RouterLink, Outlet, useLocation, useNavigate, useParams } from 'react-router';
import { api, ok, setCsrfToken } from './api';
import { Failure, Pending } from './components/states';
import { RetailerProvider, useMe, useRetailers, type Permission } from './session';

const SCREENS: { path: string; label: string; needs: Permission }[] = [
  { path: 'dashboard', label: 'Dashboard', needs: 'read' },
  { path: 'members', label: 'Members', needs: 'read' },
  { path: 'program', label: 'Program', needs: 'read' },
  { path: 'webhooks', label: 'Webhooks', needs: 'read' },
  { path: 'privacy', label: 'Privacy requests', needs: 'read' },
  { path: 'operators', label: 'Operators', needs: 'team' },
  { path: 'credentials', label: 'Credentials', needs: 'integrations' },
  { path: 'audit', label: 'Audit trail', needs: 'team' },
];

export function RetailerLayout() {
  const { retailerId = '' } = useParams();
  const me = useMe();
  const retailers = useRetailers(me.data);
  const navigate = useNavigate();
  const location = useLocation();
  const client = useQueryClient();
  const [opened, { toggle, close }] = useDisclosure();
  const retailer = useQuery({
    queryKey: ['retailer', retailerId],
    enabled: !!me.data,
    queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}', { params: { path: { retailer_id: retailerId } } })),
  });

  if (me.isPending) return <Pending />;
  if (!me.data) return <Navigate to="/sign-in" replace state={{ from: location.pathname }} />;
  if (retailers.isPending || retailer.isPending) return <Pending />;
  if (retailer.error) return <Failure error={retailer.error} retry={() => retailer.refetch()} />;
  const choice = retailers.data?.find((r) => r.retailer_id === retailerId);
  const permissions = new Set(me.data.superadmin ? ['read', 'program', 'members', 'team', 'integrations'] : (choice?.permissions ?? []));
  const can = (p: Permission) => permissions.has(p);
  const timeZone = retailer.data!.program.retailer?.time_zone ?? 'UTC';

  const signOut = async () => {
    await ok(api.DELETE('/admin/session')).catch(() => undefined);
    setCsrfToken(null);
    client.clear();
    navigate('/sign-in');
  };
  const switchTo = (id: string | null) => {
    if (!id || id === retailerId) return;
    const screen = location.pathname.split('/')[3] ?? 'dashboard';
    navigate(`/r/${id}/${screen === 'members' ? 'members' : screen}`);
  };

  return (
    <RetailerProvider value={{ retailerId, name: retailer.data!.name, role: me.data.superadmin ? 'superadmin' : (choice?.role ?? 'none'), timeZone, can }}>
      <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" wrap="nowrap">
            <Group wrap="nowrap">
              <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Navigation" />
              <Title order={1} size="h4">
                Loyalist
              </Title>
              {(retailers.data?.length ?? 0) > 1 ? (
                <Select aria-label="Retailer" data={retailers.data!.map((r) => ({ value: r.retailer_id, label: r.name }))} value={retailerId} onChange={switchTo} allowDeselect={false} w={220} />
              ) : (
                <Text fw={500}>{retailer.data!.name}</Text>
              )}
            </Group>
            <Group wrap="nowrap" gap="sm">
              <Text size="sm" c="gray.7" visibleFrom="sm">
                {me.data.operator?.email ?? 'ADMIN_TOKEN'} · {me.data.superadmin ? 'superadmin' : choice?.role}
              </Text>
              <Button variant="default" size="xs" onClick={signOut}>
                Sign out
              </Button>
            </Group>
          </Group>
        </AppShell.Header>
        <AppShell.Navbar p="xs" component="nav" aria-label="Screens">
          {SCREENS.filter((s) => can(s.needs)).map((s) => (
            <NavLink key={s.path} component={RouterLink} to={`/r/${retailerId}/${s.path}`} label={s.label} onClick={close} />
          ))}
        </AppShell.Navbar>
        <AppShell.Main>
          <Suspense fallback={<Pending />}>
            <Outlet />
          </Suspense>
        </AppShell.Main>
      </AppShell>
    </RetailerProvider>
  );
}
