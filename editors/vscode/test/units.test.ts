// Unit tests of the parts of the extension that need no VS Code: settings,
// launch command, verdicts and the status bar text.
import assert from "node:assert/strict";
import { test } from "node:test";
import { activeInterpreter, documentSelector, initializationOptions, LANGUAGES, serverCommand } from "../src/launch";
import { flagged, statusView, verdictLabel, verdictOf } from "../src/protocol";
import { explicitSettings, Inspected, SERVER_SETTINGS, settingsUpdate } from "../src/settings";

test("server settings are the smalllsp.<name> keys of package.json, not the extension's own", () => {
  const names = SERVER_SETTINGS.map((setting) => setting.name);
  assert.ok(names.includes("model") && names.includes("cross_file_policy") && names.includes("time_budget_ms"));
  assert.ok(!names.some((name) => name.includes(".")), names.join(","));
  const policy = SERVER_SETTINGS.find((setting) => setting.name === "cross_file_policy");
  assert.deepEqual(policy?.enum, ["allow", "flag", "withhold"]);
  assert.equal(SERVER_SETTINGS.find((setting) => setting.name === "max_lines")?.type, "integer");
});

test("only explicitly set values are sent, the most specific scope winning", () => {
  const seen: Record<string, Inspected> = {
    max_lines: { globalValue: 4, workspaceValue: 6 },
    model: { globalValue: "/models/a.gguf", workspaceFolderValue: "/models/b.gguf" },
    warmup: { globalValue: false },
    n_ctx: {},
  };
  assert.deepEqual(explicitSettings((name) => seen[name]), { max_lines: 6, model: "/models/b.gguf", warmup: false });
  assert.deepEqual(explicitSettings(() => undefined), {});
});

test("a settings change sends what changed and resets what was removed", () => {
  assert.deepEqual(settingsUpdate({ max_lines: 4, warmup: false }, { max_lines: 6 }), { max_lines: 6, warmup: true });
  assert.deepEqual(settingsUpdate({ max_lines: 4 }, { max_lines: 4 }), {});
  assert.deepEqual(settingsUpdate({}, { cross_file_policy: "withhold" }), { cross_file_policy: "withhold" });
});

test("the server command: configured Python, else the Python extension's, else smalllsp on PATH", () => {
  assert.deepEqual(serverCommand("/venv/bin/python", "/usr/bin/python3"), { command: "/venv/bin/python", args: ["-m", "smalllsp", "serve"] });
  assert.deepEqual(serverCommand("  ", "/usr/bin/python3"), { command: "/usr/bin/python3", args: ["-m", "smalllsp", "serve"] });
  assert.deepEqual(serverCommand(undefined, undefined), { command: "smalllsp", args: ["serve"] });
  assert.deepEqual(initializationOptions({ max_lines: 3 }), { max_lines: 3 });
});

test("the Python extension's interpreter, from either API generation", () => {
  assert.equal(activeInterpreter({ environments: { getActiveEnvironmentPath: () => ({ path: "/a/python" }) } }), "/a/python");
  assert.equal(activeInterpreter({ settings: { getExecutionDetails: () => ({ execCommand: ["/b/python", "-X"] }) } }), "/b/python");
  assert.equal(activeInterpreter({}), undefined);
  assert.equal(activeInterpreter(undefined), undefined);
});

test("the document selector covers the server's languages in files and untitled editors", () => {
  const selector = documentSelector();
  assert.equal(selector.length, LANGUAGES.length * 2);
  assert.ok(selector.some((entry) => entry.scheme === "untitled" && entry.language === "typescriptreact"));
});

test("verdicts: a flagged item is labelled with its first reason, a local one is not", () => {
  const flagged = { command: "smalllsp.accepted", arguments: [{ verdict: "cross-file", reasons: ["uses charge() from billing/api.py", "x"] }] };
  assert.deepEqual(verdictOf(flagged), { verdict: "cross-file", reasons: ["uses charge() from billing/api.py", "x"] });
  assert.equal(verdictLabel(verdictOf(flagged)), "⚠ cross-file: uses charge() from billing/api.py");
  assert.equal(verdictLabel({ verdict: "cross-file", reasons: [] }), "⚠ cross-file");
  assert.equal(verdictLabel(verdictOf({ command: "smalllsp.accepted", arguments: [{ verdict: "local", reasons: [] }] })), undefined);
  assert.equal(verdictOf(undefined), undefined);
  assert.equal(verdictOf({ command: "other", arguments: [{ verdict: "cross-file" }] }), undefined);
  assert.equal(verdictOf({ command: "smalllsp.accepted", arguments: ["text"] }), undefined);
  assert.deepEqual(verdictOf({ command: "smalllsp.accepted", arguments: [{ verdict: "cross-file", reasons: [1, "kept"] }] })?.reasons, ["kept"]);
});

test("the first flagged item of an answer is the one marked", () => {
  const local = { command: { command: "smalllsp.accepted", arguments: [{ verdict: "local", reasons: [] }] } };
  const cross = { command: { command: "smalllsp.accepted", arguments: [{ verdict: "cross-file", reasons: ["calls charge() with 3 arguments, it takes 1 to 2"] }] } };
  assert.equal(flagged([local, {}]), undefined);
  assert.deepEqual(flagged([local, cross]), {
    verdict: { verdict: "cross-file", reasons: ["calls charge() with 3 arguments, it takes 1 to 2"] },
    label: "⚠ cross-file: calls charge() with 3 arguments, it takes 1 to 2",
  });
});

test("status bar: loading, ready with model, device and latency, failed, disabled", () => {
  assert.equal(statusView(undefined, true).text, "$(loading~spin) smalllsp");
  assert.equal(statusView({ state: "loading" }, true).text, "$(loading~spin) smalllsp");
  const ready = statusView({ state: "ready", version: "0.1.0", model: "m.gguf", device: "cpu", load_seconds: 0.54, last_latency_ms: 312.4 }, true);
  assert.equal(ready.text, "$(sparkle) smalllsp 312 ms");
  assert.equal(ready.tooltip, "smalllsp 0.1.0: ready\nm.gguf on cpu\nloaded in 0.54 s\nlast completion 312 ms");
  const failed = statusView({ state: "failed", error: "model file not found: /x.gguf" }, true);
  assert.equal(failed.text, "$(error) smalllsp");
  assert.match(failed.tooltip, /model file not found/);
  assert.equal(statusView({ state: "ready" }, false).text, "$(circle-slash) smalllsp");
});
