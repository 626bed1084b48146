// The program as it is now, shared by the view and the editor (one query: an apply updates both).
import { useQuery } from '@tanstack/react-query';
import { api, ok } from '../api';
import { useRetailer } from '../session';

export const programKey = (retailerId: string) => [retailerId, 'program'] as const;

export function useProgram() {
  const { retailerId } = useRetailer();
  return useQuery({
    queryKey: programKey(retailerId),
    queryFn: () => ok(api.GET('/admin/tenants/{retailer_id}/program', { params: { path: { retailer_id: retailerId } } })),
  });
}
