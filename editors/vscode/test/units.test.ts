// Unit tests of the parts of the extension that need no VS Code: settings,
// launch command, verdicts and the status bar text.
import assert from "node:assert/strict";
import { test } from "node:test";
import manifest from "../package.json";
import { activeInterpreter, clientCommandLine, documentSelector, initializationOptions, LANGUAGES, serverCommand } from "../src/launch";
import { flagged, LABEL_MAX, shortLabel, statusView, verdictLabel, verdictOf } from "../src/protocol";
import { startFailureMessage, StderrLog } from "../src/serverlog";
import { explicitSettings, Inspected, keyOf, nameOf, RESTART_SECTIONS, SERVER_SETTINGS, settingsUpdate } from "../src/settings";

test("server settings are the smalllsp.<camelName> keys of package.json, not the extension's own", () => {
  const names = SERVER_SETTINGS.map((setting) => setting.name);
  assert.ok(names.includes("model") && names.includes("cross_file_policy") && names.includes("time_budget_ms"));
  assert.ok(!names.some((name) => name.includes(".")), names.join(","));
  const policy = SERVER_SETTINGS.find((setting) => setting.name === "cross_file_policy");
  assert.equal(policy?.key, "crossFilePolicy");
  assert.deepEqual(policy?.enum, ["allow", "flag", "withhold"]);
  assert.equal(SERVER_SETTINGS.find((setting) => setting.name === "max_lines")?.type, "integer");
  for (const setting of SERVER_SETTINGS) {
    assert.equal(nameOf(setting.key), setting.name);
    assert.equal(keyOf(setting.name), setting.key);
    assert.ok(!setting.key.includes("_"), setting.key); // VS Code's title would read "Cache_type"
  }
  assert.equal(keyOf("remote_api_key_file"), "remoteApiKeyFile");
  assert.equal(nameOf("nGpuLayers"), "n_gpu_layers");
});

test("settings that move data off the machine are user-only: scope machine, restart, untrusted workspaces", () => {
  const userOnly = SERVER_SETTINGS.filter((setting) => setting.userOnly).map((setting) => setting.name);
  assert.ok(["model", "engine", "remote_url", "remote_api_key_file", "remote_api_key_env"].every((name) => userOnly.includes(name)), userOnly.join(","));
  assert.ok(!userOnly.includes("max_lines") && !userOnly.includes("cross_file_policy"));
  const properties = manifest.contributes.configuration.properties as Record<string, { scope?: string }>;
  assert.equal(properties["smalllsp.server.pythonPath"].scope, "machine");
  const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, "limited");
  assert.deepEqual(
    [...restricted].sort(),
    ["smalllsp.server.pythonPath", ...SERVER_SETTINGS.filter((s) => s.userOnly).map((s) => `smalllsp.${s.key}`)].sort(),
  );
  assert.ok(RESTART_SECTIONS.includes("smalllsp.server") && RESTART_SECTIONS.includes("smalllsp.remoteUrl"));
});

test("only explicitly set values are sent, the most specific scope winning, user-only ones from the user's settings only", () => {
  const seen: Record<string, Inspected> = {
    maxLines: { globalValue: 4, workspaceValue: 6 },
    crossFilePolicy: { globalValue: "allow", workspaceFolderValue: "withhold" },
    model: { globalValue: "/models/a.gguf", workspaceFolderValue: "/models/b.gguf" },
    engine: { workspaceValue: "remote" },
    remoteUrl: { workspaceValue: "http://attacker:8080" },
    remoteApiKeyFile: { workspaceFolderValue: "/home/u/.ssh/id_rsa" },
    warmup: { globalValue: false },
    nCtx: {},
  };
  assert.deepEqual(explicitSettings((key) => seen[key]), {
    max_lines: 6,
    cross_file_policy: "withhold",
    model: "/models/a.gguf",
    warmup: false,
  });
  assert.deepEqual(explicitSettings(() => undefined), {});
});

test("a settings change sends what changed and resets what was removed, never a user-only setting", () => {
  assert.deepEqual(settingsUpdate({ max_lines: 4, warmup: false }, { max_lines: 6 }), { max_lines: 6, warmup: true });
  assert.deepEqual(settingsUpdate({ max_lines: 4 }, { max_lines: 4 }), {});
  assert.deepEqual(settingsUpdate({}, { cross_file_policy: "withhold" }), { cross_file_policy: "withhold" });
  assert.deepEqual(settingsUpdate({ engine: "remote" }, { remote_url: "http://x:1", max_lines: 2 }), { max_lines: 2 });
});

test("the server command: configured Python, else the Python extension's, else smalllsp on PATH; then what the client appends", () => {
  assert.deepEqual(serverCommand("/venv/bin/python", "/usr/bin/python3"), { command: "/venv/bin/python", args: ["-m", "smalllsp", "serve"] });
  assert.deepEqual(serverCommand("  ", "/usr/bin/python3"), { command: "/usr/bin/python3", args: ["-m", "smalllsp", "serve"] });
  assert.deepEqual(serverCommand(undefined, undefined), { command: "smalllsp", args: ["serve"] });
  assert.deepEqual(serverCommand("/p", undefined, 4242).args, ["-m", "smalllsp", "serve", "--clientProcessId=4242"]);
  // vscode-languageclient 10 (lib/node/main.js) appends --stdio for an Executable with TransportKind.stdio
  assert.deepEqual(clientCommandLine(serverCommand("/p", undefined, 7)), ["/p", "-m", "smalllsp", "serve", "--clientProcessId=7", "--stdio"]);
  assert.deepEqual(initializationOptions({ max_lines: 3 }), { max_lines: 3 });
});

test("server stderr: each record at its level without its timestamp, tracebacks kept together", () => {
  const log = new StderrLog();
  assert.deepEqual(log.line("2026-12-01 09:46:47,123 INFO smalllsp.server: model loaded in 0.54 s"), { level: "info", text: "smalllsp.server: model loaded in 0.54 s" });
  assert.deepEqual(log.line("2026-12-01 09:46:47,124 DEBUG smalllsp.engine: 12 tokens"), { level: "debug", text: "smalllsp.engine: 12 tokens" });
  assert.deepEqual(log.line("2026-12-01 09:46:48,000 WARNING smalllsp: unknown setting max_line"), { level: "warn", text: "smalllsp: unknown setting max_line" });
  assert.deepEqual(log.line("2026-12-01 09:46:49,000 ERROR smalllsp.server: could not read the outline of x.py"), { level: "error", text: "smalllsp.server: could not read the outline of x.py" });
  assert.deepEqual(log.line("Traceback (most recent call last):"), { level: "error", text: "Traceback (most recent call last):" });
  assert.deepEqual(log.line('  File "x.py", line 1, in <module>'), { level: "error", text: '  File "x.py", line 1, in <module>' });
  assert.deepEqual(log.line("ValueError: boom"), { level: "error", text: "ValueError: boom" });
  assert.deepEqual(log.line("llama_model_loader: loaded meta data with 26 key-value pairs"), { level: "info", text: "llama_model_loader: loaded meta data with 26 key-value pairs" });
  assert.equal(log.line("2026-12-01 09:46:50,000 INFO smalllsp: ready").level, "info");
  assert.equal(log.reason(), "ValueError: boom");
  log.reset();
  assert.equal(log.reason(), undefined);
  log.line("/usr/bin/python3: No module named smalllsp");
  assert.equal(log.reason(), "/usr/bin/python3: No module named smalllsp");
});

test("one start-failure message: the command line, the exit, the server's own reason; pythonPath named only when it is the cause", () => {
  const exited = startFailureMessage({
    commandLine: "/venv/bin/python -m smalllsp serve --stdio",
    clientError: "Server process exited with code 2.",
    stderrReason: "smalllsp serve: error: unrecognized arguments: --bogus",
    configuredPython: true,
  });
  assert.equal(exited, "smalllsp: the server did not start (`/venv/bin/python -m smalllsp serve --stdio`, exit code 2): smalllsp serve: error: unrecognized arguments: --bogus");
  assert.doesNotMatch(exited, /pythonPath/);
  const missing = startFailureMessage({
    commandLine: "/nope/python -m smalllsp serve --stdio",
    clientError: "Launching server using command /nope/python failed. Error: spawn /nope/python ENOENT",
    configuredPython: true,
  });
  assert.equal(missing, "smalllsp: the server did not start (`/nope/python -m smalllsp serve --stdio`): /nope/python cannot be run (not found). Check smalllsp.server.pythonPath: it must be a Python that has smalllsp installed.");
  const noPackage = startFailureMessage({
    commandLine: "/usr/bin/python3 -m smalllsp serve --stdio",
    clientError: "Server process exited with code 1.",
    stderrReason: "/usr/bin/python3: No module named smalllsp",
    configuredPython: false,
  });
  assert.match(noPackage, /exit code 1\): \/usr\/bin\/python3: No module named smalllsp\. Set smalllsp\.server\.pythonPath/);
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

test("a long cross-file label is cut with an ellipsis; short ones are kept", () => {
  assert.equal(shortLabel("⚠ cross-file: uses charge()"), "⚠ cross-file: uses charge()");
  const long = `⚠ cross-file: ${"calls charge() with 3 arguments ".repeat(5)}`;
  const cut = shortLabel(long);
  assert.equal(Array.from(cut).length <= LABEL_MAX, true);
  assert.ok(cut.endsWith("…") && long.startsWith(cut.slice(0, -1)));
});

test("status bar: loading, ready with model, device and latency, failed, stopped, disabled", () => {
  assert.equal(statusView(undefined, true).text, "$(loading~spin) smalllsp");
  assert.equal(statusView({ state: "loading" }, true).text, "$(loading~spin) smalllsp");
  const ready = statusView({ state: "ready", version: "0.1.0", model: "m.gguf", device: "cpu", load_seconds: 0.54, last_latency_ms: 312.4 }, true);
  assert.equal(ready.text, "$(sparkle) smalllsp 312 ms");
  assert.equal(ready.tooltip, "smalllsp 0.1.0: ready\nm.gguf on cpu\nloaded in 0.54 s\nlast completion 312 ms");
  const failed = statusView({ state: "failed", error: "model file not found: /x.gguf" }, true);
  assert.equal(failed.text, "$(error) smalllsp");
  assert.match(failed.tooltip, /model file not found/);
  assert.equal(statusView({ state: "ready" }, false).text, "$(circle-slash) smalllsp");
  assert.equal(statusView({ state: "stopped" }, true).tooltip, "smalllsp: stopped"); // not "smalllsp : stopped"
});
