import type { PipedriveStream, StreamServices } from './base';
import { DealProducts, Deals, DealsFlow } from './deals';
import { Pipelines, Stages } from './pipelines';
import { ActivityTypes, Users } from './users';

/** Every stream of the connector, in the order a sync reads them. */
export function allStreams(services: StreamServices): PipedriveStream[] {
  return [
    new Users(services),
    new Pipelines(services),
    new Stages(services),
    new ActivityTypes(services),
    new Deals(services),
    new DealProducts(services),
    new DealsFlow(services),
  ];
}

export { ChildStream, PipedriveStream, V1ListStream, V2ListStream } from './base';
