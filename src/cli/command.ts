/** What a `relevo` command is: its name, usage and options, and what it runs. */
import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from './context.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
}

export interface Command {
  /** One or two words: `serve`, `projects create`. */
  readonly name: string;
  readonly summary: string;
  /** Positional argument names, in order, all required. */
  readonly args: readonly string[];
  /** The values the first argument may take, when it is one of a few words (checked, completed). */
  readonly choices?: readonly string[];
  /** Everything after the name and positionals in the usage line. */
  readonly usage: string;
  readonly options: Options;
  /** Options that must be given. */
  readonly required?: readonly string[];
  /** Each option's synopsis and meaning, for --help. */
  readonly optionHelp?: ReadonlyArray<readonly [string, string]>;
  readonly details?: string;
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}
