/** Projects and what belongs to them: credentials, bots and end users (the admin side). */
import { type MintedCredential, mintCredential } from '../../auth/credential-secrets.js';
import { ApiError } from '../../errors.js';
import { newId } from '../../model/ids.js';
import type { Bot, ChannelKind, EndUser, Project } from '../../model/types.js';
import { UniqueViolation } from '../../storage/errors.js';
import type { Queries, Tx } from '../../storage/store.js';

export interface CreatedProject {
  readonly project: Project;
  readonly minted: MintedCredential;
}

export async function createProject(tx: Tx, name: string, now: number): Promise<CreatedProject> {
  const project: Project = { id: newId('prj', now), name, createdAt: now };
  await tx.projects.insert(project);
  const minted = mintCredential(project.id, now);
  await tx.credentials.insert(minted.credential);
  return { project, minted };
}

export async function requireProject(tx: Queries, projectId: string): Promise<Project> {
  const project = await tx.projects.get(projectId);
  if (project === undefined) {
    throw new ApiError('project_not_found', `No project with id ${JSON.stringify(projectId)} exists.`);
  }
  return project;
}

export async function addCredential(tx: Tx, projectId: string, now: number): Promise<MintedCredential> {
  await requireProject(tx, projectId);
  const minted = mintCredential(projectId, now);
  await tx.credentials.insert(minted.credential);
  return minted;
}

export async function revokeCredential(
  tx: Tx,
  projectId: string,
  credentialId: string,
  now: number,
): Promise<void> {
  await requireProject(tx, projectId);
  if (!(await tx.credentials.revoke(projectId, credentialId, now))) {
    throw new ApiError(
      'credential_not_found',
      `No live credential with id ${JSON.stringify(credentialId)} exists in this project.`,
    );
  }
}

export async function createBot(
  tx: Tx,
  projectId: string,
  name: string,
  channel: ChannelKind,
  now: number,
): Promise<Bot> {
  await requireProject(tx, projectId);
  const bot: Bot = { id: newId('bot', now), projectId, name, channel, engine: 'rules', createdAt: now };
  await tx.bots.insert(bot);
  return bot;
}

export async function createEndUser(
  tx: Tx,
  projectId: string,
  names: string,
  referenceId: string | null,
  now: number,
): Promise<EndUser> {
  await requireProject(tx, projectId);
  const user: EndUser = { id: newId('usr', now), projectId, names, referenceId, createdAt: now };
  try {
    await tx.endUsers.insert(user);
  } catch (e) {
    if (e instanceof UniqueViolation && e.constraint === 'end_users_reference') {
      throw new ApiError(
        'reference_id_taken',
        `Another end user of this project already has referenceId ${JSON.stringify(referenceId)}.`,
      );
    }
    throw e;
  }
  return user;
}
