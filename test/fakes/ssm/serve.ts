// Runs the SSM emulator as its own process (bench/ssm.ts uses it so the bench's CPU and RSS are the transport's):
// argv[2] is the SsmEmulatorOpts JSON; prints one JSON line {endpoint, instances}; stops when stdin closes.
import { startSsmEmulator, type SsmEmulatorOpts } from './emulator.ts';

const emu = await startSsmEmulator(JSON.parse(process.argv[2] ?? '{"instances":1}') as SsmEmulatorOpts);
process.stdout.write(JSON.stringify({ endpoint: emu.endpoint, instances: emu.instances }) + '\n');
const stop = (): void => { void emu.stop().then(() => process.exit(0)); };
process.stdin.on('end', stop).on('close', stop).resume();
process.once('SIGTERM', stop);
