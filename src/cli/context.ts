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
  /** Where `serve` hears SIGTERM and SIGINT; the process when absent. */
  readonly signals?: NodeJS.EventEmitter | undefined;
}
