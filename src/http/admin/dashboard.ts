// The admin console's dashboard of one retailer (flows/dashboard.ts).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DomainError } from '../../errors.js';
import { retailerDashboard } from '../../flows/dashboard.js';
import { findRetailer } from '../../modules/tenants/service.js';
import { fails } from '../contract.js';
import { AdminDashboard } from './dashboard-schemas.js';

const When = (description: string) =>
  Type.Optional(Type.String({ maxLength: 40, description: `${description}: ISO 8601, an instant with its offset or a date or local time in the retailer's time zone`, examples: ['2024-05-01', '2024-05-01T00:00:00Z'] }));

export const dashboardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;

  app.get(
    '/tenants/:retailer_id/dashboard',
    {
      schema: {
        summary: "The retailer's dashboard over a window",
        description:
          'Members (now, new in the window, active in the 30 days before `to`), the points issued, spent and expired per day of the retailer’s time zone (every day of the window, zero-filled), ' +
          'what is outstanding per point account now, offers issued and redeemed, and the five most completed campaigns. ' +
          'The window is [from, to): by default the 30 days up to now; `from` must come before `to`, at most 366 days before (else 400 argument_error naming the field).',
        tags: ['Admin: dashboard'],
        params: Type.Object({ retailer_id: Type.String({ format: 'uuid' }) }),
        querystring: Type.Object({ from: When('the start, included (default: 30 days before `to`)'), to: When('the end, excluded (default: now)') }),
        response: { 200: AdminDashboard, ...fails('not_found', 'forbidden', 'argument_error') },
      },
    },
    async (request) => {
      const retailer = await findRetailer(db, request.params.retailer_id.toLowerCase());
      if (!retailer) throw new DomainError('not_found', 'retailer not found', 'retailer_id');
      return retailerDashboard(db, retailer.id, request.query);
    },
  );
};
