import { Activities } from './activities';
import type { PipedriveStream, StreamServices } from './base';
import { Currencies } from './currencies';
import { DealProducts, Deals, DealsFlow } from './deals';
import { fieldStreams } from './fields';
import { LeadLabels, Leads } from './leads';
import { Notes } from './notes';
import { Organizations } from './organizations';
import { Persons, PersonsEmails, PersonsPhones } from './persons';
import { Pipelines, Stages } from './pipelines';
import { Products, ProductsPrices } from './products';
import { Teams, TeamsUsers } from './teams';
import { ActivityTypes, Users } from './users';

/** Every stream of the connector, in the order a sync reads them. */
export function allStreams(services: StreamServices): PipedriveStream[] {
  return [
    ...fieldStreams(services),
    new Users(services),
    new Pipelines(services),
    new Stages(services),
    new ActivityTypes(services),
    new Currencies(services),
    new Teams(services),
    new TeamsUsers(services),
    new Organizations(services),
    new Persons(services),
    new PersonsEmails(services),
    new PersonsPhones(services),
    new Products(services),
    new ProductsPrices(services),
    new Deals(services),
    new DealProducts(services),
    new DealsFlow(services),
    new LeadLabels(services),
    new Leads(services),
    new Activities(services),
    new Notes(services),
  ];
}

export { ChildStream, PipedriveStream, V1ListStream, V2ListStream } from './base';
