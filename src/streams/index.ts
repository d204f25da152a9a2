import { permissionSetAssignments, permissionSets, roleAssignments, roles } from './access';
import {
  type ArrayChildDeclaration,
  ArrayChildStream,
  ChildStream,
  type PipedriveStream,
  type RootDeclaration,
  RootStream,
  type StreamServices,
} from './base';
import { dealInstallments, dealParticipants, dealProducts, deals, DealsFlow } from './deals';
import {
  activities,
  activityAttendees,
  activityParticipants,
  activityTypes,
  currencies,
  leadLabels,
  organizations,
  pipelines,
  stages,
  users,
} from './entities';
import {
  type BatchDeclaration,
  BatchFanOutStream,
  type PerParentDeclaration,
  PerParentFanOutStream,
} from './fanout';
import { fieldStreams } from './fields';
import {
  dealFollowers,
  organizationFollowers,
  personFollowers,
  productFollowers,
} from './followers';
import { goalResults, goals } from './goals';
import { leads } from './leads';
import { mailMessages, mailThreads } from './mailbox';
import { notes } from './notes';
import { persons, personsEmails, personsPhones } from './persons';
import { products, productsPrices, productVariations } from './products';
import { projectBoards, projectPhases, projects, tasks } from './projects';
import { teams, teamsUsers } from './teams';
import { callLogs, files, filters, leadSources } from './workspace';

type Factory = (services: StreamServices) => PipedriveStream;

const root =
  (declaration: RootDeclaration): Factory =>
  (services) =>
    new RootStream(services, declaration);
const array =
  (declaration: ArrayChildDeclaration): Factory =>
  (services) =>
    new ArrayChildStream(services, declaration);
const batch =
  (declaration: BatchDeclaration): Factory =>
  (services) =>
    new BatchFanOutStream(services, declaration);
const perParent =
  (declaration: PerParentDeclaration): Factory =>
  (services) =>
    new PerParentFanOutStream(services, declaration);

/** Every stream of the connector, each parent before its children. */
const STREAMS: Factory[] = [
  ...fieldStreams.map((declaration) =>
    'passes' in declaration ? root(declaration) : array(declaration),
  ),
  root(users),
  root(pipelines),
  root(stages),
  root(activityTypes),
  root(currencies),
  root(teams),
  perParent(teamsUsers),
  root(projectBoards),
  perParent(projectPhases),
  root(projects),
  root(tasks),
  root(organizations),
  perParent(organizationFollowers),
  root(persons),
  array(personsEmails),
  array(personsPhones),
  perParent(personFollowers),
  root(products),
  array(productsPrices),
  perParent(productVariations),
  perParent(productFollowers),
  root(deals),
  batch(dealProducts),
  (services) => new DealsFlow(services),
  batch(dealInstallments),
  perParent(dealParticipants),
  perParent(dealFollowers),
  root(leadLabels),
  root(leads),
  root(activities),
  array(activityParticipants),
  array(activityAttendees),
  root(notes),
  root(files),
  root(filters),
  root(goals),
  perParent(goalResults),
  root(mailThreads),
  perParent(mailMessages),
  root(callLogs),
  root(leadSources),
  root(permissionSets),
  perParent(permissionSetAssignments),
  root(roles),
  perParent(roleAssignments),
];

/** Every stream of the connector, each parent before its children. */
export function allStreams(services: StreamServices): PipedriveStream[] {
  const streams = STREAMS.map((factory) => factory(services));
  const byName = new Map(streams.map((stream) => [stream.name, stream]));
  for (const stream of streams) {
    if (!(stream instanceof ChildStream)) continue;
    const parent = byName.get(stream.parentName);
    if (!(parent instanceof RootStream)) {
      throw new Error(`Stream ${stream.name} has an unknown parent ${stream.parentName}`);
    }
    stream.parentPositionKeys = parent.positionKeys;
  }
  return streams;
}

export { ChildStream, PipedriveStream, RootStream } from './base';
