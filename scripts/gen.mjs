// `npm run gen`: every generated artefact from proto/, reproducibly.
//   gen/ts                TypeScript (ts-proto, buf.gen.yaml) + gen/descriptor.binpb (reflection)
//   gen/go/aetheris       Go (protoc-gen-go, protoc-gen-go-grpc at the pins below, buf.gen.go.yaml)
//   gen/python/src/aetheris  Python (grpcio-tools' protoc, pinned in clients/python/requirements.txt)
// Plugins are installed into .tmp/gobin and .venv on first use; nothing global is touched.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureRequirements, venvPython } from './python-env.mjs';

const GO_PLUGINS = [
  ['protoc-gen-go', 'google.golang.org/protobuf/cmd/protoc-gen-go', 'v1.36.12', 'protoc-gen-go v1.36.12'],
  ['protoc-gen-go-grpc', 'google.golang.org/grpc/cmd/protoc-gen-go-grpc', 'v1.6.2', 'protoc-gen-go-grpc 1.6.2'],
];

const root = path.resolve(import.meta.dirname, '..');
const gobin = path.join(root, '.tmp', 'gobin');
const buf = path.join(root, 'node_modules', '.bin', 'buf');
const run = (cmd, args, env = process.env) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env });

function ensureGoPlugins() {
  for (const [name, pkg, version, expected] of GO_PLUGINS) {
    const bin = path.join(gobin, name);
    let current = '';
    try {
      current = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
    } catch {}
    if (current !== expected) run('go', ['install', `${pkg}@${version}`], { ...process.env, GOBIN: gobin });
  }
}

function protoFiles(dir) {
  return fs
    .readdirSync(path.join(root, 'proto', dir), { recursive: true })
    .filter((file) => file.endsWith('.proto'))
    .map((file) => path.join(dir, file))
    .sort();
}

// TypeScript and the descriptor set.
run(buf, ['generate']);
run(buf, ['build', '-o', 'gen/descriptor.binpb']);

// Go: the module's go.mod/go.sum/README stay; the generated packages are replaced.
ensureGoPlugins();
fs.rmSync(path.join(root, 'gen', 'go', 'aetheris'), { recursive: true, force: true });
run(buf, ['generate', '--template', 'buf.gen.go.yaml'], { ...process.env, PATH: `${gobin}:${process.env.PATH}` });

// Python: google.rpc comes from googleapis-common-protos, so only our packages are generated.
ensureRequirements();
const pythonOut = path.join(root, 'gen', 'python', 'src');
fs.rmSync(path.join(pythonOut, 'aetheris'), { recursive: true, force: true });
fs.mkdirSync(pythonOut, { recursive: true });
run(venvPython, [
  '-m',
  'grpc_tools.protoc',
  '-Iproto',
  `--python_out=${pythonOut}`,
  `--pyi_out=${pythonOut}`,
  `--grpc_python_out=${pythonOut}`,
  ...protoFiles('aetheris'),
]);
