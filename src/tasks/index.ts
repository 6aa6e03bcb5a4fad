// The task module registry: YAML key -> module, checked with `satisfies` (no directory scanning).
import assert from './assert.ts';
import command from './command.ts';
import copy from './copy.ts';
import debug from './debug.ts';
import fetch from './fetch.ts';
import file from './file.ts';
import http from './http.ts';
import lineinfile from './lineinfile.ts';
import pkg from './package.ts';
import service from './service.ts';
import setFact from './set_fact.ts';
import shell from './shell.ts';
import template from './template.ts';
import type { TaskModule } from './types.ts';
import waitFor from './wait_for.ts';

export const modules = {
  command, shell, copy, template, file, lineinfile, package: pkg, service, http, wait_for: waitFor, assert, set_fact: setFact, debug, fetch,
} satisfies Record<string, TaskModule<any>>;

export type ModuleName = keyof typeof modules;
