// Hovers as an editor shows them: starts yaml-language-server (the engine of VS Code's YAML
// extension) over LSP stdio, opens a plan, hovers the first occurrence of each key and checks
// that the hover shows that key's own description (a `properties.KEY` description anywhere in
// the schema), not the description of the type it refers to. The schema is the one the plan's
// modeline names, so it is the very file the server reads.
//
// usage: node .ci/hover.mjs SERVER PLAN KEY...
// Exits 1 when a hover is wrong, and 2 when the server fails, exits or takes over 60 s.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [server, planPath, ...keys] = process.argv.slice(2);
let child;
if (!server || !planPath || keys.length === 0) {
  console.error('usage: node .ci/hover.mjs SERVER PLAN KEY...');
  process.exit(2);
}
const plan = readFileSync(planPath, 'utf8');
const modeline = /^# yaml-language-server: \$schema=(\S+)/m.exec(plan);
if (!modeline) fatal(`${planPath} has no yaml-language-server modeline`);
const schema = JSON.parse(readFileSync(resolve(dirname(planPath), modeline[1]), 'utf8'));

function fatal(message) {
  console.error(`hover check: ${message}`);
  child?.kill();
  process.exit(2);
}

// Every property description the schema gives a key, wherever the key is defined
// (`timeout` is a key of `target`, of a request and of a health policy).
function ownDescriptions(node, key, out = []) {
  if (Array.isArray(node)) node.forEach((n) => ownDescriptions(n, key, out));
  else if (node && typeof node === 'object') {
    const own = node.properties?.[key];
    if (own?.markdownDescription) out.push(own.markdownDescription);
    Object.values(node).forEach((n) => ownDescriptions(n, key, out));
  }
  return out;
}

child = spawn(process.execPath, [server, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
let done = false;
child.on('error', (e) => fatal(`cannot start ${server}: ${e.message}`));
child.on('exit', (code, signal) => done || fatal(`the server exited (${signal ?? code})`));
child.stdin.on('error', (e) => done || fatal(`cannot write to the server: ${e.message}`));
const timer = setTimeout(() => fatal('yaml-language-server did not answer within 60 s'), 60_000);

const settings = { yaml: { hover: true, validate: true, schemaStore: { enable: false } } };
let buffer = Buffer.alloc(0);
let nextId = 1;
const pending = new Map();
child.stdout.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const header = /Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString());
    if (!header) fatal(`a message without Content-Length: ${buffer.subarray(0, end)}`);
    const length = Number(header[1]);
    if (buffer.length < end + 4 + length) return;
    const message = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString());
    buffer = buffer.subarray(end + 4 + length);
    if (message.method && message.id !== undefined) {
      // A request from the server: its settings, or a registration it may make.
      const result = message.method === 'workspace/configuration'
        ? message.params.items.map((item) => settings[item.section] ?? null)
        : null;
      send({ jsonrpc: '2.0', id: message.id, result });
    } else if (pending.has(message.id)) {
      if (message.error) fatal(`${pending.get(message.id).method} failed: ${message.error.message}`);
      pending.get(message.id).resolve(message.result);
      pending.delete(message.id);
    }
  }
});
function send(message) {
  const body = Buffer.from(JSON.stringify(message));
  child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
  child.stdin.write(body);
}
function request(method, params) {
  const id = nextId++;
  send({ jsonrpc: '2.0', id, method, params });
  return new Promise((resolve) => pending.set(id, { method, resolve }));
}
const notify = (method, params) => send({ jsonrpc: '2.0', method, params });

const uri = pathToFileURL(resolve(planPath)).href;
await request('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
notify('initialized', {});
notify('workspace/didChangeConfiguration', { settings });
notify('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text: plan } });

let failed = 0;
const lines = plan.split('\n');
for (const key of keys) {
  const line = lines.findIndex((l) => new RegExp(`^\\s*(- )?${key}:`).test(l));
  const expected = ownDescriptions(schema, key);
  if (line < 0 || expected.length === 0) {
    console.error(`FAIL ${key}: ${line < 0 ? `not a key in ${planPath}` : 'no description of its own in the schema'}`);
    failed++;
    continue;
  }
  const character = lines[line].indexOf(key) + 1;
  const hover = await request('textDocument/hover', { textDocument: { uri }, position: { line, character } });
  const shown = hover?.contents?.value ?? '';
  if (expected.some((d) => shown.includes(d))) {
    console.log(`ok   ${key} (line ${line + 1}): ${shown.split('\n').find((l) => l.trim() && !l.startsWith('#'))}`);
  } else {
    console.error(`FAIL ${key} (line ${line + 1}) shows:\n${shown || '(nothing)'}\n  expected one of:\n  ${expected.join('\n  ')}`);
    failed++;
  }
}
done = true;
await request('shutdown', null);
clearTimeout(timer);
notify('exit', null);
child.kill();
process.exit(failed ? 1 : 0);
