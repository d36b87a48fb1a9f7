/** The benchmark's fixed settings, shared by the run and its report. */
export type Backend = 'sqlite' | 'postgres';
/** Connections of every closed-loop load run. */
export const CONNECTIONS = 32;
/** The rate (c) is judged at; another --e2e-rate is reported, not judged. */
export const E2E_STARTS_PER_SECOND_DEFAULT = 1_000;
/** The label of (a)'s floor: relevo's domain and store behind bare node:http (store-server.ts). */
export const STORE_FLOOR = 'store, bare http';
