import { goneError, notFound } from '../http/errors';
import { TableName } from '../store/store';
import { RecordFlag } from '../store/table';
import { JsonObject } from '../types';
import { Endpoint, EndpointContext, ok, oneOf } from './common';

/**
 * v1 account-level lists without pagination: users, the current user, activity types,
 * currencies, lead labels and legacy teams.
 */

function all(context: EndpointContext, table: TableName): JsonObject[] {
  return [...context.store.iterate(table)];
}

/** `/legacyTeams` is deprecated; `fake.legacyTeamsGone` simulates its removal. */
function assertTeamsAvailable(context: EndpointContext): void {
  if (context.controls.legacyTeamsGone) throw goneError();
}

export const accountEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/users',
    cost: 20,
    handle: (context) => ok(all(context, 'users')),
  },
  {
    version: 'v1',
    path: '/users/me',
    cost: 2,
    handle(context) {
      const me = all(context, 'users').find((user) => user.is_you === true);
      return ok({
        ...me,
        company_id: 7_654_321,
        company_name: `${context.controls.companyDomain} Inc.`,
        company_domain: context.controls.companyDomain,
        company_country: 'EE',
        company_industry: 'Software',
        language: { language_code: 'en', country_code: 'US' },
      });
    },
  },
  {
    version: 'v1',
    path: '/activityTypes',
    cost: 20,
    handle: (context) => ok(all(context, 'activityTypes')),
  },
  {
    version: 'v1',
    path: '/currencies',
    cost: 20,
    handle(context) {
      const term = (context.query.term ?? '').toLowerCase();
      const currencies = all(context, 'currencies').filter(
        (currency) =>
          term === '' ||
          String(currency.code).toLowerCase().includes(term) ||
          String(currency.name).toLowerCase().includes(term),
      );
      return ok(currencies);
    },
  },
  {
    version: 'v1',
    path: '/leadLabels',
    cost: 10,
    handle: (context) => ok(all(context, 'leadLabels')),
  },
  {
    version: 'v1',
    path: '/legacyTeams',
    cost: 20,
    handle(context) {
      assertTeamsAvailable(context);
      const orderBy = oneOf(
        context.query,
        'order_by',
        ['id', 'name', 'manager_id', 'active_flag'] as const,
        'id',
      );
      const skipUsers = context.query.skip_users === '1';
      const teams = all(context, 'teams')
        .map((team) => (skipUsers ? { ...team, users: [] } : team))
        .sort((left, right) => compareValues(left[orderBy], right[orderBy]));
      return ok(teams);
    },
  },
  {
    version: 'v1',
    path: '/legacyTeams/{id}/users',
    cost: 20,
    handle(context) {
      assertTeamsAvailable(context);
      const teams = context.store.table('teams');
      const slot = teams.slotOf(Number(context.params.id));
      if (slot === undefined || teams.flags(slot) & RecordFlag.purged) {
        throw notFound('Team not found');
      }
      return ok(teams.record(slot).users);
    },
  },
];

function compareValues(left: unknown, right: unknown): number {
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  return String(left).localeCompare(String(right));
}
