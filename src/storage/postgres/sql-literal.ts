/**
 * A string as a PostgreSQL literal, for the one statement that cannot take a parameter: NOTIFY
 * sent in one simple query with COMMIT (postgres-store.ts). An escape string (E'…') with its
 * backslashes and quotes doubled reads the same whatever the server's standard_conforming_strings.
 */
export function sqlLiteral(text: string): string {
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}
