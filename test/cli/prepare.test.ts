// Command-line values the engine takes as given: --extra-vars (name=value and @file.yml, later wins,
// a file is secret-scanned) and --forks; each mistake is an input error (exit 2) that names the flag.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExtraVars, parseForks } from '../../src/cli/prepare.ts';

const exit2 = (message: string | RegExp) => expect.objectContaining({ exitCode: 2, message: typeof message === 'string' ? message : expect.stringMatching(message) });

describe('--extra-vars', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-extra-'));
  const file = (name: string, text: string): string => { writeFileSync(join(dir, name), text); return join(dir, name); };

  it('reads name=value (the value may hold = and spaces) and YAML files, the later one winning', () => {
    const f = file('v.yml', 'version: 6.0.1\nhosts_up: [a, b]\nmode: from-file\n');
    expect(parseExtraVars(['mode=cli', `@${f}`, 'flag=a=b c'])).toEqual({ mode: 'from-file', version: '6.0.1', hosts_up: ['a', 'b'], flag: 'a=b c' });
    expect(parseExtraVars([`@${f}`, 'mode=cli']).mode).toBe('cli');
    expect(parseExtraVars(['empty='])).toEqual({ empty: '' });
  });

  it('refuses bad names, unreadable or non-mapping files and files holding credentials', () => {
    expect(() => parseExtraVars(['1x=2'])).toThrow(exit2("--extra-vars '1x': use name=value or @file.yml"));
    expect(() => parseExtraVars(['novalue'])).toThrow(exit2(/use name=value or @file\.yml/));
    expect(() => parseExtraVars([`@${join(dir, 'missing.yml')}`])).toThrow(exit2(/cannot read .*missing\.yml/));
    expect(() => parseExtraVars([`@${file('list.yml', '- a\n- b\n')}`])).toThrow(exit2(/must be a YAML mapping/));
    expect(() => parseExtraVars([`@${file('key.yml', 'aws: AKIAABCDEFGHIJKLMNOP\n')}`])).toThrow(exit2(/contains an AWS access key id/));
  });
});

describe('--forks', () => {
  it('takes a whole number from 1 to 10000', () => {
    expect(parseForks('50')).toBe(50);
    expect(parseForks('1')).toBe(1);
    for (const bad of ['0', '-1', '2.5', 'ten', '10001']) expect(() => parseForks(bad), bad).toThrow(exit2(`--forks ${bad}: must be a whole number from 1 to 10000`));
  });
});
