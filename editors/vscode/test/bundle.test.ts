// The bundle `npm run compile` writes (dist/extension.js) loads with only the
// `vscode` module missing (VS Code provides it), and exports the entry points.
// The stand-in `vscode` answers any property with a dummy, enough for the
// module-level code of the bundle; activate() itself needs VS Code.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import Module from "node:module";
import { join } from "node:path";
import { test } from "node:test";

const BUNDLE = join(__dirname, "..", "..", "dist", "extension.js");

function standIn(): unknown {
  const handler: ProxyHandler<() => void> = {
    get: (_target, property) => (property === Symbol.toPrimitive ? () => "" : standIn()),
    apply: () => standIn(),
    construct: () => standIn() as object,
  };
  return new Proxy(function () {}, handler);
}

test("dist/extension.js loads and exports activate and deactivate", () => {
  assert.ok(existsSync(BUNDLE), `${BUNDLE} is missing: run npm run compile first`);
  const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = loader._load;
  const required: string[] = [];
  loader._load = (request: string, ...rest: unknown[]) => {
    required.push(request);
    return request === "vscode" ? standIn() : load(request, ...rest);
  };
  try {
    const extension = require(BUNDLE) as { activate?: unknown; deactivate?: unknown };
    assert.equal(typeof extension.activate, "function");
    assert.equal(typeof extension.deactivate, "function");
  } finally {
    loader._load = load;
  }
  // everything else is inside the bundle: only Node's own modules and vscode are required
  const outside = required.filter((request) => request !== "vscode" && !request.startsWith("node:") && !Module.builtinModules.includes(request) && request !== BUNDLE);
  assert.deepEqual(outside, []);
});
