/** What a migration is, and how a statement is read for one dialect. */
export type Dialect = 'sqlite' | 'postgres';
export type Statement = string | Readonly<Record<Dialect, string>>;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly Statement[];
}

export function statementFor(s: Statement, dialect: Dialect): string {
  return typeof s === 'string' ? s : s[dialect];
}
