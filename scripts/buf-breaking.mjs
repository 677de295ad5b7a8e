// Runs `buf breaking` against the previous commit of main. Skips (with a note) when there is no
// previous commit with contracts, e.g. on the first commit.
import { execFileSync, spawnSync } from 'node:child_process';

function git(...args) {
  return spawnSync('git', args, { encoding: 'utf8' });
}

const base = process.env.AETHERIS_BREAKING_BASE ?? 'HEAD~1';
if (git('rev-parse', '--verify', '--quiet', `${base}^{commit}`).status !== 0) {
  console.log(`buf breaking: skipped (no ${base})`);
  process.exit(0);
}
if (git('cat-file', '-e', `${base}:buf.yaml`).status !== 0) {
  console.log(`buf breaking: skipped (${base} has no buf.yaml)`);
  process.exit(0);
}
execFileSync('npx', ['buf', 'breaking', '--against', `.git#ref=${base}`], { stdio: 'inherit' });
console.log(`buf breaking: no breaking change against ${base}`);
