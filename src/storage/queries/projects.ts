/** Projects: the tenant every other row belongs to. */
import type { Project } from '../../model/types.js';
import { deletion, nameOf, nameText } from './columns.js';
import type { SqlExecutor } from './executor.js';
import { type Page, type PageRequest, selectPage } from './paging.js';

export interface ProjectRow {
  id: string;
  name: string;
  created_at: number;
  deleted_at: number | null;
}

export const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  name: nameOf(r.name),
  createdAt: Number(r.created_at),
  ...deletion(r.deleted_at),
});

export class ProjectQueries {
  constructor(private readonly x: SqlExecutor) {}
  async insert(p: Project): Promise<void> {
    await this.x.run(
      'INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?)',
      p.id,
      nameText(p.name),
      p.createdAt,
    );
  }
  /** A live project: a deleted one is not found (as for bots and end users below). */
  async get(id: string): Promise<Project | undefined> {
    const r = await this.x.one<ProjectRow>('SELECT * FROM projects WHERE id = ? AND deleted_at IS NULL', id);
    return r && toProject(r);
  }
  async list(page: PageRequest): Promise<Page<Project>> {
    return selectPage(
      this.x,
      page,
      toProject,
      'SELECT * FROM projects WHERE id > ? AND deleted_at IS NULL ORDER BY id LIMIT ?',
      page.after ?? '',
    );
  }
  /** Renames a live project; false when there is none. */
  async rename(id: string, name: string): Promise<boolean> {
    return (
      (await this.x.run(
        'UPDATE projects SET name = ? WHERE id = ? AND deleted_at IS NULL',
        nameText(name),
        id,
      )) > 0
    );
  }
  /**
   * Marks a live project deleted, with its live bots and end users; false when there is none.
   * Its credentials, integration and conversations are the service's to deal with.
   */
  async softDelete(id: string, at: number): Promise<boolean> {
    const changed = await this.x.run(
      'UPDATE projects SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL',
      at,
      id,
    );
    if (changed === 0) return false;
    await this.x.run('UPDATE bots SET deleted_at = ? WHERE project_id = ? AND deleted_at IS NULL', at, id);
    await this.x.run(
      'UPDATE end_users SET deleted_at = ? WHERE project_id = ? AND deleted_at IS NULL',
      at,
      id,
    );
    return true;
  }
}
