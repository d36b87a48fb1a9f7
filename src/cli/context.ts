import type { Config } from '../config.js';

/** What a subcommand may use: configuration on demand, and the two output channels. */
export interface CliContext {
  /** Loads and validates the configuration from the environment; throws ConfigError. */
  config(): Config;
  /** One line of human-readable output on stdout. */
  out(line: string): void;
  /** One line on stderr: a note for the person, kept out of what scripts read from stdout. */
  err(line: string): void;
  /** One JSON value on stdout: what scripts parse. */
  printJson(value: unknown): void;
  /**
   * --json was given: a command whose output is text prints JSON instead (the others always
   * print JSON). Every command accepts it.
   */
  readonly json: boolean;
  /**
   * How far long work has got ("migrating: 3 of 12, …"), for a person watching: one line on
   * stderr rewritten in place, and only when stderr is a terminal (never into logs or pipes).
   * `undefined` erases the line once the work is over; the result goes to stdout as usual.
   */
  progress(text: string | undefined): void;
  /** Where `serve` hears SIGTERM and SIGINT; the process when absent. */
  readonly signals?: NodeJS.EventEmitter | undefined;
}
