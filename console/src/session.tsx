// Who is signed in (GET /admin/me), the retailer being worked on (the URL's /r/:retailerId) and
// what the operator's role there allows: screens offer only what `can` allows; the API decides.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, type ReactNode } from 'react';
import { api, ApiError, ok, setCsrfToken, type Schemas } from './api';

export type Permission = 'read' | 'program' | 'members' | 'team' | 'integrations';
type Me = Awaited<ReturnType<typeof fetchMe>>;

async function fetchMe() {
  const me = await ok(api.GET('/admin/me'));
  setCsrfToken(me.csrf_token);
  return me;
}

/** The signed-in operator, or null when there is no session. */
export function useMe() {
  const client = useQueryClient();
  useEffect(() => {
    const signedOut = () => client.setQueryData(['me'], null);
    window.addEventListener('loyalist:signed-out', signedOut);
    return () => window.removeEventListener('loyalist:signed-out', signedOut);
  }, [client]);
  return useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      try {
        return await fetchMe();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 60_000,
  });
}

export interface RetailerChoice {
  retailer_id: string;
  name: string;
  role: string;
  permissions: string[];
}

/** The retailers the operator may pick: their roles, or every retailer for a superadmin. */
export function useRetailers(me: Me | null | undefined) {
  return useQuery({
    queryKey: ['retailers', me?.operator?.operator_id ?? me?.kind],
    enabled: !!me,
    queryFn: async (): Promise<RetailerChoice[]> => {
      if (!me!.superadmin) return me!.retailers;
      const all = await ok(api.GET('/admin/tenants', { params: { query: { take: 500 } } }));
      return all.retailers.map((r: Schemas['AdminTenant']) => ({ retailer_id: r.retailer_id, name: r.name, role: 'superadmin', permissions: ['read', 'program', 'members', 'team', 'integrations'] }));
    },
  });
}

export interface RetailerContext {
  retailerId: string;
  name: string;
  role: string;
  timeZone: string;
  can: (permission: Permission) => boolean;
}

const Context = createContext<RetailerContext | null>(null);

export function RetailerProvider({ value, children }: { value: RetailerContext; children: ReactNode }) {
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

/** The retailer the screen works on, its time zone and the operator's permissions there. */
export function useRetailer(): RetailerContext {
  const value = useContext(Context);
  if (!value) throw new Error('useRetailer outside a retailer');
  return value;
}
