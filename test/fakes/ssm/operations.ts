// The emulator's operations: request JSON in, response JSON out, shaped like the real SSM API
// (field names, pagination with NextToken, errors as `__type`), over the emulated Fleet.
import { isTerminal, type Command, type Fleet, type Invocation } from './fleet.ts';

export class ApiError extends Error {
  constructor(readonly type: string, message: string) { super(message); }
}

type Ctx = { readonly fleet: Fleet; readonly maxDocumentBytes: number };
type Req = Record<string, any>;
type Handler = (ctx: Ctx, req: Req) => unknown;

function page<T>(items: readonly T[], req: Req, max: number): { items: T[]; NextToken?: string } {
  const size = Math.min(req.MaxResults ?? max, max);
  if (!Number.isInteger(size) || size < 1) throw new ApiError('ValidationException', 'MaxResults out of range');
  const start = req.NextToken ? Number(req.NextToken) : 0;
  if (!Number.isInteger(start) || start < 0) throw new ApiError('InvalidNextToken', 'bad NextToken');
  const slice = items.slice(start, start + size);
  return { items: slice, ...(start + size < items.length ? { NextToken: String(start + size) } : {}) };
}

function commandOf(ctx: Ctx, id: unknown): Command {
  const cmd = ctx.fleet.commands.get(String(id));
  if (!cmd) throw new ApiError('InvalidCommandId', `no command ${String(id)}`);
  return cmd;
}

function sendCommand(ctx: Ctx, req: Req): unknown {
  if (req.DocumentName !== 'AWS-RunShellScript') throw new ApiError('InvalidDocument', `unsupported document ${req.DocumentName}`);
  const params = (req.Parameters ?? {}) as Record<string, string[]>;
  if (!Array.isArray(params.commands) || params.commands.length === 0) throw new ApiError('InvalidParameters', 'commands is required');
  if (Buffer.byteLength(JSON.stringify(params)) > ctx.maxDocumentBytes) throw new ApiError('ValidationException', `parameters exceed ${ctx.maxDocumentBytes} bytes`);
  let ids: string[];
  if (req.InstanceIds) {
    ids = req.InstanceIds as string[];
    if (ids.length > 50) throw new ApiError('ValidationException', 'at most 50 InstanceIds per call');
    const unknown = ids.filter((id) => !ctx.fleet.instances.has(id));
    if (unknown.length) throw new ApiError('InvalidInstanceId', `instances not registered: ${unknown.join(', ')}`);
  } else if (req.Targets) {
    ids = ctx.fleet.resolveTargets(req.Targets);
  } else throw new ApiError('ValidationException', 'InstanceIds or Targets is required');
  const timeout = Number(params.executionTimeout?.[0] ?? 3600);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 172_800) throw new ApiError('InvalidParameters', 'executionTimeout out of range');
  const cmd = ctx.fleet.send(params.commands.join('\n'), ids, {
    executionTimeoutS: timeout, maxConcurrency: req.MaxConcurrency, maxErrors: req.MaxErrors !== undefined ? String(req.MaxErrors) : undefined, parameters: params,
  });
  return { Command: describeCommand(ctx, cmd) };
}

function describeCommand(ctx: Ctx, cmd: Command): unknown {
  const invs = [...cmd.invocations.values()];
  return {
    CommandId: cmd.id, DocumentName: 'AWS-RunShellScript', Status: ctx.fleet.commandStatus(cmd), RequestedDateTime: cmd.requestedAt,
    Parameters: cmd.parameters, TargetCount: cmd.targetIds.length, CompletedCount: invs.filter((i) => isTerminal(i.status)).length,
    ErrorCount: cmd.errors, DeliveryTimedOutCount: invs.filter((i) => i.details === 'DeliveryTimedOut').length,
  };
}

function invocationView(ctx: Ctx, inv: Invocation, details: boolean): unknown {
  const combined = inv.stdout + (inv.stderr ? `\n----------ERROR-------\n${inv.stderr}` : '');
  return {
    CommandId: inv.commandId, InstanceId: inv.instanceId, InstanceName: '', DocumentName: 'AWS-RunShellScript',
    RequestedDateTime: inv.requestedAt, Status: inv.status, StatusDetails: inv.details,
    ...(details ? { CommandPlugins: [{
      Name: 'aws:runShellScript', Status: inv.status, StatusDetails: inv.details, ResponseCode: inv.code,
      Output: combined.slice(0, ctx.fleet.limits.detailLimit), StandardOutputUrl: '', StandardErrorUrl: '',
    }] } : {}),
  };
}

function listCommandInvocations(ctx: Ctx, req: Req): unknown {
  const cmd = commandOf(ctx, req.CommandId);
  const all = [...cmd.invocations.values()].filter((i) => !req.InstanceId || i.instanceId === req.InstanceId);
  const { items, NextToken } = page(all, req, 50);
  return { CommandInvocations: items.map((i) => invocationView(ctx, i, !!req.Details)), ...(NextToken ? { NextToken } : {}) };
}

function getCommandInvocation(ctx: Ctx, req: Req): unknown {
  const inv = commandOf(ctx, req.CommandId).invocations.get(String(req.InstanceId));
  if (!inv) throw new ApiError('InvocationDoesNotExist', `no invocation for ${req.InstanceId}`);
  const { limits } = ctx.fleet;
  return {
    CommandId: inv.commandId, InstanceId: inv.instanceId, PluginName: 'aws:runShellScript', ResponseCode: inv.code,
    Status: inv.status, StatusDetails: inv.details,
    StandardOutputContent: inv.stdout.slice(0, limits.outputLimit), StandardErrorContent: inv.stderr.slice(0, limits.errorLimit),
  };
}

function cancelCommand(ctx: Ctx, req: Req): unknown {
  ctx.fleet.cancel(commandOf(ctx, req.CommandId), req.InstanceIds?.length ? req.InstanceIds : undefined);
  return {};
}

function listCommands(ctx: Ctx, req: Req): unknown {
  const cmds = req.CommandId ? [commandOf(ctx, req.CommandId)] : [...ctx.fleet.commands.values()];
  const { items, NextToken } = page(cmds, req, 50);
  return { Commands: items.map((c) => describeCommand(ctx, c)), ...(NextToken ? { NextToken } : {}) };
}

function describeInstanceInformation(ctx: Ctx, req: Req): unknown {
  const filters = (req.Filters ?? []) as { Key: string; Values: string[] }[];
  for (const f of filters) {
    if (!/^(tag:.+|tag-key|PingStatus|InstanceIds)$/.test(f.Key)) throw new ApiError('InvalidFilterKey', `unsupported filter ${f.Key}`);
  }
  const tagFilters = filters.filter((f) => f.Key !== 'PingStatus');
  const ids = tagFilters.length ? new Set(ctx.fleet.resolveTargets(tagFilters)) : undefined;
  const ping = filters.find((f) => f.Key === 'PingStatus')?.Values;
  const all = [...ctx.fleet.instances.values()].filter((i) => (!ids || ids.has(i.id)) && (!ping || ping.includes(i.ping)));
  const { items, NextToken } = page(all, req, 50);
  return {
    InstanceInformationList: items.map((i) => ({
      InstanceId: i.id, PingStatus: i.ping, PlatformType: 'Linux', PlatformName: 'Amazon Linux', ResourceType: 'EC2Instance',
      ComputerName: `${i.id}.ec2.internal`, ...(i.name ? { Name: i.name } : {}), LastPingDateTime: Date.now() / 1000,
    })),
    ...(NextToken ? { NextToken } : {}),
  };
}

export const handlers: Record<string, Handler> = {
  SendCommand: sendCommand, ListCommandInvocations: listCommandInvocations, GetCommandInvocation: getCommandInvocation,
  CancelCommand: cancelCommand, ListCommands: listCommands, DescribeInstanceInformation: describeInstanceInformation,
};
