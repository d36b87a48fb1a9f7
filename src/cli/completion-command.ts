// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are shell code, whose ${...} is the shell's own.
/**
 * `relevo completion bash|zsh|fish`: a shell completion script generated from the command table,
 * so a new command or option completes as soon as it exists. Each script walks the words typed
 * so far the way run.ts resolves a command (one to three words; options and their values are
 * skipped), then offers what may follow: the next word of a command's name, or its options.
 * Values are left to the shell (file names), except the choices a command lists for an argument.
 */
import type { Command } from './command.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** Options every command takes, and the ones only at the top. */
const COMMON_OPTIONS = ['--json', '--help'];
const TOP_OPTIONS = ['--help', '--version'];

interface Node {
  /** The command words so far, '' at the top. */
  readonly key: string;
  /** What may be typed next: words of command names, then options. */
  readonly words: readonly string[];
  /** Options that take a value: the word after them is that value, not a command word. */
  readonly valued: readonly string[];
}

/** Every prefix of every command name, with what may follow it. */
export function completionTree(commands: readonly Command[]): Node[] {
  const keys = new Set<string>(['']);
  for (const c of commands) {
    const parts = c.name.split(' ');
    for (let i = 1; i <= parts.length; i++) keys.add(parts.slice(0, i).join(' '));
  }
  return [...keys].map((key) => {
    const depth = key === '' ? 0 : key.split(' ').length;
    const next = new Set<string>();
    for (const c of commands) {
      const parts = c.name.split(' ');
      if (parts.length > depth && parts.slice(0, depth).join(' ') === key) next.add(parts[depth] ?? '');
    }
    const command = commands.find((c) => c.name === key);
    const options =
      command === undefined
        ? key === ''
          ? TOP_OPTIONS
          : ['--help']
        : [...Object.keys(command.options).map((o) => `--${o}`), ...COMMON_OPTIONS];
    const valued =
      command === undefined
        ? []
        : Object.entries(command.options)
            .filter(([, o]) => o.type === 'string')
            .map(([name]) => `--${name}`);
    return { key, words: [...next, ...(command?.choices ?? []), ...options], valued };
  });
}

// Command names, options and choices (`conversation.start`) are lower-case words, dots and
// dashes: nothing here needs shell quoting, but a name that did would break every script, so it
// is refused instead of emitted.
function checkWord(word: string): string {
  if (!/^[a-z0-9.-]+$/.test(word)) throw new Error(`cannot complete the word ${JSON.stringify(word)}`);
  return word;
}

const pattern = (key: string): string => `'${key}'`;

function bash(nodes: readonly Node[]): string {
  const known = nodes.filter((n) => n.key !== '').map((n) => pattern(n.key));
  const valued = [...new Set(nodes.flatMap((n) => n.valued))].map(checkWord);
  return [
    '# relevo completion for bash. Load it with: source <(relevo completion bash)',
    '_relevo() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="" word i',
    '  # An option that takes a value: leave the value to the shell (file names).',
    `  case "$prev" in ${valued.length === 0 ? "''" : valued.join('|')}) COMPREPLY=(); return ;; esac`,
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word="${COMP_WORDS[i]}"',
    '    case "$word" in -*) continue ;; esac',
    `    case "\${cmd:+$cmd }$word" in`,
    `      ${known.join('|')}) cmd="\${cmd:+$cmd }$word" ;;`,
    '      *) break ;;',
    '    esac',
    '  done',
    '  local words=""',
    '  case "$cmd" in',
    ...nodes.map((n) => `    ${pattern(n.key)}) words="${n.words.map(checkWord).join(' ')}" ;;`),
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    'complete -o default -F _relevo relevo',
    '',
  ].join('\n');
}

function zsh(nodes: readonly Node[]): string {
  const known = nodes.filter((n) => n.key !== '').map((n) => pattern(n.key));
  const valued = [...new Set(nodes.flatMap((n) => n.valued))].map(checkWord);
  return [
    '#compdef relevo',
    '# relevo completion for zsh. Load it after compinit with: source <(relevo completion zsh)',
    '_relevo() {',
    '  local cmd="" word i',
    '  local -a candidates',
    `  case "\${words[CURRENT-1]}" in ${valued.length === 0 ? "''" : valued.join('|')}) _files; return ;; esac`,
    '  for ((i = 2; i < CURRENT; i++)); do',
    '    word="${words[i]}"',
    '    [[ "$word" == -* ]] && continue',
    `    case "\${cmd:+$cmd }$word" in`,
    `      ${known.join('|')}) cmd="\${cmd:+$cmd }$word" ;;`,
    '      *) break ;;',
    '    esac',
    '  done',
    '  case "$cmd" in',
    ...nodes.map((n) => `    ${pattern(n.key)}) candidates=(${n.words.map(checkWord).join(' ')}) ;;`),
    '  esac',
    '  compadd -- "${candidates[@]}"',
    '}',
    'compdef _relevo relevo',
    '',
  ].join('\n');
}

function fish(nodes: readonly Node[]): string {
  const known = nodes.filter((n) => n.key !== '').map((n) => pattern(n.key));
  const lines = [
    '# relevo completion for fish. Load it with: relevo completion fish | source',
    '# The command words typed so far, as run.ts resolves them.',
    'function __relevo_command',
    '    set -l cmd ""',
    '    for word in (commandline -opc)[2..-1]',
    "        string match -q -- '-*' $word; and continue",
    '        set -l next (string trim -- "$cmd $word")',
    `        if contains -- $next ${known.join(' ')}`,
    '            set cmd $next',
    '        else',
    '            break',
    '        end',
    '    end',
    '    echo $cmd',
    'end',
    'function __relevo_is',
    '    set -l cmd (__relevo_command)',
    '    test "$cmd" = "$argv[1]"',
    'end',
    'complete -c relevo -f',
  ];
  for (const n of nodes) {
    const condition = `'__relevo_is "${n.key}"'`;
    const plain = n.words.filter((w) => !w.startsWith('--')).map(checkWord);
    if (plain.length > 0) lines.push(`complete -c relevo -n ${condition} -a '${plain.join(' ')}'`);
    for (const option of n.words.filter((w) => w.startsWith('--')).map(checkWord)) {
      // -r: the option takes a value, which fish then completes as a file name.
      const value = n.valued.includes(option) ? ' -r -F' : '';
      lines.push(`complete -c relevo -n ${condition} -l ${option.slice(2)}${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, commands: readonly Command[]): string {
  const nodes = completionTree(commands);
  if (shell === 'bash') return bash(nodes);
  if (shell === 'zsh') return zsh(nodes);
  return fish(nodes);
}

/** The command itself; it reads the table through `table` so that it can be part of it. */
export function completionCommand(table: () => readonly Command[]): Command {
  return {
    name: 'completion',
    summary: 'Print a shell completion script for bash, zsh or fish',
    args: ['shell'],
    choices: SHELLS,
    usage: '',
    options: {},
    details:
      'bash:  source <(relevo completion bash)   (or save it in ~/.local/share/bash-completion/completions/relevo)\n' +
      'zsh:   source <(relevo completion zsh)    (after compinit)\n' +
      'fish:  relevo completion fish > ~/.config/fish/completions/relevo.fish\n' +
      'It completes command names and their options; with --json it prints { shell, script }.',
    async run(ctx, args) {
      // run.ts has checked it against `choices`.
      const shell = args.positionals[0] as Shell;
      const script = completionScript(shell, table());
      if (ctx.json) ctx.printJson({ shell, script });
      else ctx.out(script.trimEnd());
      return 0;
    },
  };
}
