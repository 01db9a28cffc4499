// Runs the whole test suite while two CPU-bound processes run beside it, so anyone can see the
// suite hold on a loaded machine. The load ends with the suite (and by itself after an hour at
// the latest). Extra arguments go to vitest: `npm run test:busy -- --project server`.
//
//     npm run test:busy
import { spawn } from 'node:child_process';

const BURNERS = 2;
const MAX_LOAD_MS = 60 * 60 * 1000;
const burn = `const end = Date.now() + ${MAX_LOAD_MS}; let x = 0; while (Date.now() < end) { for (let i = 0; i < 1e6; i++) x += Math.sqrt(i); }`;

const burners = Array.from({ length: BURNERS }, () => spawn(process.execPath, ['-e', burn], { stdio: 'ignore' }));
const stopLoad = () => {
  for (const b of burners) if (b.exitCode === null) b.kill('SIGKILL');
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopLoad();
    process.exit(130);
  });
}

const started = Date.now();
console.log(`test:busy: ${BURNERS} CPU-bound processes running beside the suite`);
const vitest = spawn('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
vitest.on('exit', (code, signal) => {
  stopLoad();
  console.log(`test:busy: suite ended with ${signal ?? `exit code ${code}`} after ${((Date.now() - started) / 1000).toFixed(0)} s under load`);
  process.exit(code ?? 1);
});
