// Keeps .venv (or $AETHERIS_VENV) in step with clients/python/requirements.txt and installs the
// two Python packages (gen/python, clients/python) from source, so the pytest suite runs against
// what a user would `pip install`. Re-installs only when an input changed (a stamp of hashes).
// Usage: node scripts/python-env.mjs [--requirements-only]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
export const venvDir = path.resolve(root, process.env.AETHERIS_VENV ?? '.venv');
export const venvPython = path.join(venvDir, 'bin', 'python');
const requirements = path.join(root, 'clients', 'python', 'requirements.txt');
const packages = [path.join(root, 'gen', 'python'), path.join(root, 'clients', 'python')];

function hashTree(hash, dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (['__pycache__', 'build', '.pytest_cache'].includes(entry.name) || entry.name.endsWith('.egg-info')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, full);
    else hash.update(path.relative(root, full)).update(fs.readFileSync(full));
  }
}

function stampOf(files, dirs) {
  const hash = createHash('sha256');
  for (const file of files) hash.update(fs.readFileSync(file));
  for (const dir of dirs) if (fs.existsSync(dir)) hashTree(hash, dir);
  return hash.digest('hex');
}

function upToDate(stampFile, stamp) {
  return fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp;
}

const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });

/** Creates the venv and installs the pinned requirements (grpcio-tools for `npm run gen`). */
export function ensureRequirements() {
  if (!fs.existsSync(venvPython)) run(process.env.PYTHON ?? 'python3', ['-m', 'venv', venvDir]);
  const stampFile = path.join(venvDir, '.aetheris-requirements');
  const stamp = stampOf([requirements], []);
  if (upToDate(stampFile, stamp)) return;
  run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements]);
  fs.writeFileSync(stampFile, stamp);
}

/** Installs gen/python and clients/python (not editable: the suite tests the built packages). */
export function ensurePackages() {
  ensureRequirements();
  const stampFile = path.join(venvDir, '.aetheris-packages');
  const stamp = stampOf(
    [requirements],
    packages.map((dir) => path.join(dir)),
  );
  if (upToDate(stampFile, stamp)) return;
  // setuptools never cleans build/lib: a deleted module would otherwise live on in the wheel.
  for (const dir of packages) fs.rmSync(path.join(dir, 'build'), { recursive: true, force: true });
  run(venvPython, [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-deps',
    '--force-reinstall',
    ...packages,
  ]);
  fs.writeFileSync(stampFile, stamp);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--requirements-only')) ensureRequirements();
  else ensurePackages();
}
