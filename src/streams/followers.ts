import { collectRecords, type PerParentDeclaration } from './fanout';

/**
 * `<entity>_followers`: GET /api/v2/<parent>/{id}/followers (10 API tokens a call) for the
 * parents that changed. One row per (parent, user); `<entity>_update_time` tells which parent
 * version the row was read with.
 *
 * Following or unfollowing does not change the parent's update_time, so an incremental run sees
 * it only once the parent changes for another reason; a full refresh reads every parent.
 */
function followers(
  entity: 'deal' | 'person' | 'organization' | 'product',
  parent: string,
): PerParentDeclaration {
  const parentKey = `${entity}_id`;
  const versionKey = `${entity}_update_time`;
  return {
    name: `${entity}_followers`,
    parent,
    primaryKey: [parentKey, 'user_id'],
    cursor: versionKey,
    tokensPerParent: 10,
    async read(record, stream) {
      const items = await collectRecords(
        stream.client.paginateV2(`/${parent}/${record.id}/followers`, {}, stream.name),
      );
      return items.map((item) => ({
        [parentKey]: record.id,
        user_id: item.user_id,
        add_time: item.add_time ?? null,
        [versionKey]: record.update_time ?? null,
      }));
    },
  };
}

export const dealFollowers = followers('deal', 'deals');
export const personFollowers = followers('person', 'persons');
export const organizationFollowers = followers('organization', 'organizations');
export const productFollowers = followers('product', 'products');
