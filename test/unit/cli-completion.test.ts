/**
 * `relevo completion`: the scripts come from the command table, and the bash one, sourced into a
 * real bash, completes what a person types (COMP_WORDS in, COMPREPLY out). zsh and fish are run
 * the same way when they are installed.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { completionScript } from '../../src/cli/completion-command.js';
import { run } from '../../src/cli/run.js';

async function relevo(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    env: {},
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

const have = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

/** What bash's completion function offers after `words` (the last one is being typed). */
function bashComplete(script: string, words: readonly string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = spawnSync(
    'bash',
    [
      '--norc',
      '--noprofile',
      '-c',
      `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _relevo; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter((w) => w !== '');
}

describe('relevo completion bash', () => {
  let stdout = '';
  beforeAll(async () => {
    const r = await relevo(['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    stdout = r.stdout;
  });

  it('prints the script on stdout, exit 0', () => {
    expect(stdout).toMatch(/^# relevo completion for bash/);
    expect(stdout).toContain('complete -o default -F _relevo relevo\n');
  });

  it('completes the first word with every command group and top-level command', () => {
    const first = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))];
    expect(first).toContain('completion');
    expect(bashComplete(stdout, ['relevo', ''])).toEqual([...first, '--help', '--version']);
    expect(bashComplete(stdout, ['relevo', 'pro'])).toEqual(['projects']);
    expect(bashComplete(stdout, ['relevo', 'de'])).toEqual(['deliveries']);
  });

  it('completes the words of multi-word commands, down to three (bots engine set)', () => {
    expect(bashComplete(stdout, ['relevo', 'projects', ''])).toEqual([
      'create',
      'list',
      'show',
      'rename',
      'delete',
      '--help',
    ]);
    expect(bashComplete(stdout, ['relevo', 'bots', 'engine', ''])).toEqual([
      'get',
      'set',
      'regenerate',
      '--help',
    ]);
    expect(bashComplete(stdout, ['relevo', 'bots', 'engine', 'r'])).toEqual(['regenerate']);
  });

  it("completes a command's own options, after its arguments and other options too", () => {
    expect(bashComplete(stdout, ['relevo', 'projects', 'create', '--'])).toEqual([
      '--name',
      '--json',
      '--help',
    ]);
    expect(bashComplete(stdout, ['relevo', 'bots', 'rules', 'prj_1', 'bot_1', '--r'])).toEqual(['--reset']);
    expect(
      bashComplete(stdout, ['relevo', 'deliveries', 'list', 'prj_1', '--status', 'dead', '--st']),
    ).toEqual(['--status']);
  });

  it("leaves an option's value to the shell, and offers a command's choices for its argument", () => {
    expect(bashComplete(stdout, ['relevo', 'projects', 'create', '--name', ''])).toEqual([]);
    expect(bashComplete(stdout, ['relevo', 'completion', ''])).toEqual([
      'bash',
      'zsh',
      'fish',
      '--json',
      '--help',
    ]);
  });

  it('registers the function for relevo when sourced', () => {
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `${stdout}\ncomplete -p relevo`], {
      encoding: 'utf8',
    });
    expect(r.stdout).toBe('complete -o default -F _relevo relevo\n');
  });
});

describe('relevo completion: every command in every script', () => {
  it.each(['bash', 'zsh', 'fish'] as const)('%s names every command word and option', (shell) => {
    const script = completionScript(shell, COMMANDS);
    for (const c of COMMANDS) {
      for (const word of c.name.split(' ')) expect(script).toContain(word);
      for (const option of Object.keys(c.options)) expect(script).toContain(option);
    }
  });

  it.runIf(have('zsh'))('zsh parses the script', () => {
    const r = spawnSync('zsh', ['-n', '-c', completionScript('zsh', COMMANDS)], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.runIf(have('fish'))('fish loads the script and completes a command group', () => {
    const script = completionScript('fish', COMMANDS);
    const r = spawnSync('fish', ['--no-config', '-c', `${script}\ncomplete -C 'relevo bots engine '`], {
      encoding: 'utf8',
    });
    expect(r.stdout.split('\n').map((l) => l.split('\t')[0])).toEqual(
      expect.arrayContaining(['get', 'set', 'regenerate']),
    );
  });

  it('an unknown shell is a usage error: one line on stderr, exit 2', async () => {
    const r = await relevo(['completion', 'powershell']);
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "relevo: <shell> must be one of bash, zsh, fish, not 'powershell' (see 'relevo completion --help')\n",
    });
  });

  it('with --json, prints { shell, script }', async () => {
    const r = await relevo(['completion', 'fish', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ shell: 'fish', script: completionScript('fish', COMMANDS) });
  });
});
