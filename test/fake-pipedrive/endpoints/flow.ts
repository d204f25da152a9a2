import { notFound } from '../http/errors';
import { offsetPage } from '../store/query';
import { FlowItem, JsonObject } from '../types';
import { commaList, Endpoint, ok, v1Limit, v1Start } from './common';

/** `/v1/deals/{id}/flow`: the deal's history, newest first, offset paged. */

const CUSTOM_FIELD_KEY = /^[0-9a-f]{40}$/;

function isCustomFieldChange(item: FlowItem): boolean {
  return item.object === 'dealChange' && CUSTOM_FIELD_KEY.test(String(item.data.field_key));
}

export const flowEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/deals/{id}/flow',
    cost: 40,
    handle(context) {
      const dealId = Number(context.params.id);
      const flow = context.store.flowOf(dealId);
      if (!flow) throw notFound('Deal not found');
      // Without all_changes=1 Pipedrive leaves custom-field changes out.
      const allChanges = context.query.all_changes === '1';
      const objects = commaList(context.query, 'items');
      const visible = flow.filter(
        (item) =>
          (allChanges || !isCustomFieldChange(item)) && (!objects || objects.includes(item.object)),
      );
      const page = offsetPage(visible, v1Start(context.query), v1Limit(context.query));
      const deal = context.store.find('deals', dealId)?.record ?? {};
      const users: JsonObject = {};
      for (const item of page.items) {
        const userId = item.data.user_id as number | undefined;
        const user = userId !== undefined ? context.store.find('users', userId)?.record : undefined;
        if (user) {
          users[String(userId)] = {
            id: user.id,
            name: user.name,
            email: user.email,
            has_pic: user.icon_url ? 1 : 0,
            pic_hash: null,
            active_flag: user.active_flag,
          };
        }
      }
      const result = ok(page.items.length === 0 ? null : page.items, {
        pagination: page.pagination,
      });
      result.body.related_objects = {
        deal: {
          [String(dealId)]: {
            id: dealId,
            title: deal.title,
            status: deal.status,
            value: deal.value,
            currency: deal.currency,
            stage_id: deal.stage_id,
            pipeline_id: deal.pipeline_id,
          },
        },
        user: users,
      };
      return result;
    },
  },
];
