// Regenerates gen/ and fails when the committed files differ: generated code is never edited
// by hand and never stale.
import { execFileSync } from 'node:child_process';

execFileSync('npm', ['run', '--silent', 'gen'], { stdio: 'inherit' });
const drift = execFileSync('git', ['status', '--porcelain', '--', 'gen'], { encoding: 'utf8' }).trim();
if (drift) {
  console.error(`generated code is stale; run \`npm run gen\` and commit:\n${drift}`);
  process.exit(1);
}
console.log('gen: up to date');
