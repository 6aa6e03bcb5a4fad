// Spawns a node script without blocking: fakes served from the test's own process keep answering
// (a spawnSync would freeze them). Collects stdout, stderr and the exit code.
import { spawn } from 'node:child_process';

export type Spawned = { status: number | null; stdout: string; stderr: string };

export function spawnNode(script: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Spawned> {
  return spawnProgram(process.execPath, [script, ...args], o);
}

/** Any program (e.g. `/bin/sh -c 'ulimit ...; exec node ...'`), collected the same way. */
export function spawnProgram(program: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Spawned> {
  return new Promise((done, fail) => {
    const child = spawn(program, args, { cwd: o.cwd, env: o.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}
