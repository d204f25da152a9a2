import { accessEndpoints } from './access';
import { accountEndpoints } from './account';
import { callLogEndpoints } from './call-logs';
import { Endpoint } from './common';
import { dealEndpoints } from './deals';
import { fieldEndpoints } from './fields';
import { fileEndpoints } from './files';
import { flowEndpoints } from './flow';
import { goalEndpoints } from './goals';
import { leadEndpoints } from './leads';
import { mailboxEndpoints } from './mailbox';
import { noteEndpoints } from './notes';
import { projectEndpoints } from './projects';
import { referenceEndpoints } from './reference';
import { subresourceEndpoints } from './subresources';
import { v2EntityEndpoints } from './v2-entities';

/**
 * Every endpoint the fake serves. Adding one is adding an entry: its version, path template,
 * token cost (checked against the OpenAPI files by test/fake-contract.test.ts) and handler.
 */
export const ENDPOINTS: Endpoint[] = [
  ...dealEndpoints,
  ...v2EntityEndpoints,
  ...accountEndpoints,
  ...fieldEndpoints,
  ...noteEndpoints,
  ...leadEndpoints,
  ...flowEndpoints,
  ...fileEndpoints,
  ...goalEndpoints,
  ...mailboxEndpoints,
  ...callLogEndpoints,
  ...referenceEndpoints,
  ...accessEndpoints,
  ...projectEndpoints,
  ...subresourceEndpoints,
];

export type { Endpoint, EndpointContext, EndpointResult } from './common';
