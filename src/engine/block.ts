// Block keywords (Ansible's rules): vars, become, become_user, ignore_errors, no_log, run_once,
// delegate_to, timeout and notify written on a block apply to every task inside it (a task's own
// value wins); loop, register, retries and the result conditions have no meaning on a block.
import type { Diagnostic } from '../errors.ts';
import type { TaskSpec } from './model.ts';
import { joinPointer, type YamlSource } from './yaml-source.ts';

const NOT_ON_BLOCK = ['loop', 'loop_control', 'register', 'until', 'retries', 'delay', 'changed_when', 'failed_when'] as const;

export function blockKeywordDiagnostics(src: YamlSource, t: Readonly<Record<string, unknown>>, pointer: string): Diagnostic[] {
  return NOT_ON_BLOCK.filter((k) => k in t).map((k) => ({
    loc: src.keyLocOf(joinPointer(pointer, k)), message: `'${k}' is not valid on a block`, hint: 'put it on the tasks inside the block',
  }));
}

/** `child` with the keywords of the block around it; a nested block passes them on to its own tasks. */
function inherit(parent: TaskSpec, child: TaskSpec): TaskSpec {
  const merged: TaskSpec = {
    ...child,
    vars: { ...parent.vars, ...child.vars },
    become: child.become ?? parent.become, becomeUser: child.becomeUser ?? parent.becomeUser,
    ignoreErrors: child.ignoreErrors ?? parent.ignoreErrors, noLog: child.noLog ?? parent.noLog,
    runOnce: child.runOnce ?? parent.runOnce, delegateTo: child.delegateTo ?? parent.delegateTo,
    timeout: child.timeout ?? parent.timeout, notify: [...new Set([...child.notify, ...parent.notify])],
  };
  return merged.module === 'block' ? withBlockKeywords(merged) : merged;
}

/** A block whose block/rescue/always tasks carry its keywords. */
export function withBlockKeywords(b: TaskSpec): TaskSpec {
  const list = (l: readonly TaskSpec[] | undefined): TaskSpec[] | undefined => l?.map((c) => inherit(b, c));
  return { ...b, block: list(b.block), rescue: list(b.rescue), always: list(b.always) };
}
