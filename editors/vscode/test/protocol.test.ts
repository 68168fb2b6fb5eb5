// Protocol-level test: the real `smalllsp serve` with the real default model,
// started with the command line and initializationOptions the extension builds
// (src/launch.ts, src/settings.ts), sent the requests VS Code's language
// client sends, and the answers read with the extension's own readers
// (src/protocol.ts). VS Code itself is not run. Python: $SMALLLSP_PYTHON,
// else the repository's .venv/bin/python.
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import { clientCommandLine, initializationOptions, serverCommand } from "../src/launch";
import { ACCEPTED_COMMAND, ServerStatus, STATUS_REQUEST, statusView, verdictLabel, verdictOf } from "../src/protocol";
import { Settings, settingsUpdate } from "../src/settings";

const REPO = resolve(__dirname, "..", "..", "..", "..");
const PYTHON = process.env.SMALLLSP_PYTHON ?? join(REPO, ".venv", "bin", "python");
// The time budget cuts generation by wall-clock time: out of reach here, so a busy machine changes nothing.
const TEST_SETTINGS: Settings = { time_budget_ms: 120000 };

// What vscode-languageclient 10.1.2 advertises that the server reads (the
// whole object is larger): UTF-16 positions only, inline completion,
// work-done progress, configuration, executeCommand, workspace folders.
const VSCODE_CAPABILITIES = {
  general: { positionEncodings: ["utf-16"] },
  textDocument: {
    synchronization: { dynamicRegistration: true, didSave: true },
    completion: { dynamicRegistration: true, completionItem: { snippetSupport: true, labelDetailsSupport: true } },
    inlineCompletion: { dynamicRegistration: true },
  },
  window: { workDoneProgress: true, showMessage: {} },
  workspace: {
    configuration: true,
    didChangeConfiguration: { dynamicRegistration: true },
    executeCommand: { dynamicRegistration: true },
    workspaceFolders: true,
  },
};

const BODY = `import math


def circle_area(radius):
    """Return the area of a circle with the given radius."""
    


def main():
    print(circle_area(2.0))
`;

const BILLING_API = `def charge(amount, currency="EUR"):
    """Charge the customer and return the receipt."""
    return {"amount": amount, "currency": currency}
`;

const CHECKOUT = `from billing.api import charge


def checkout(cart):
    """Charge the total of the cart in euros."""
    total = sum(item.price for item in cart)
    
`;

interface Progress {
  token: string | number;
  value: { kind: string; title?: string; message?: string };
}

interface InlineItem {
  insertText: string;
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
  command?: { title: string; command: string; arguments?: unknown[] };
}

interface Session {
  connection: MessageConnection;
  child: ChildProcess;
  capabilities: Record<string, unknown>;
  progress: Progress[];
  stderr: () => string;
}

function workspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "smalllsp-vscode-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, ".."), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

async function start(root: string, settings: Settings): Promise<Session> {
  // the command line vscode-languageclient runs: the extension's command, --clientProcessId, then --stdio
  const [program, ...args] = clientCommandLine(serverCommand(PYTHON, undefined, process.pid));
  const child = spawn(program, args, { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const progress: Progress[] = [];
  connection.onRequest("window/workDoneProgress/create", () => null);
  connection.onNotification("$/progress", (params: Progress) => {
    progress.push(params);
  });
  connection.onNotification("window/logMessage", () => undefined);
  connection.onNotification("window/showMessage", (params: { message: string }) => {
    stderr += `showMessage: ${params.message}\n`;
  });
  connection.listen();
  const uri = pathToFileURL(root).href;
  const result = await connection.sendRequest<{ capabilities: Record<string, unknown> }>("initialize", {
    processId: process.pid,
    clientInfo: { name: "Visual Studio Code", version: "1.91.0" },
    rootUri: uri,
    workspaceFolders: [{ uri, name: "test" }],
    capabilities: VSCODE_CAPABILITIES,
    initializationOptions: initializationOptions(settings),
  });
  await connection.sendNotification("initialized", {});
  return { connection, child, capabilities: result.capabilities, progress, stderr: () => stderr };
}

async function stop(session: Session): Promise<void> {
  await session.connection.sendRequest("shutdown");
  await session.connection.sendNotification("exit");
  await new Promise((done) => (session.child.exitCode !== null ? done(null) : session.child.once("exit", done)));
  session.connection.dispose();
}

async function statusWhen(session: Session, done: (status: ServerStatus & Record<string, any>) => boolean, what: string, timeoutMs = 120000) {
  const started = Date.now();
  for (;;) {
    const status = await session.connection.sendRequest<ServerStatus & Record<string, any>>(STATUS_REQUEST, {});
    if (done(status)) {
      return status;
    }
    if (status.state === "failed") {
      assert.fail(`the model failed to load: ${JSON.stringify(status)}\n${session.stderr()}`);
    }
    if (Date.now() - started > timeoutMs) {
      assert.fail(`timed out waiting for ${what}: ${JSON.stringify(status)}\n${session.stderr()}`);
    }
    await new Promise((wake) => setTimeout(wake, 200));
  }
}

function open(session: Session, root: string, name: string, text: string): string {
  const uri = pathToFileURL(join(root, name)).href;
  void session.connection.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "python", version: 1, text } });
  return uri;
}

async function inline(session: Session, uri: string, line: number, character: number): Promise<InlineItem[]> {
  const answer = await session.connection.sendRequest<{ items: InlineItem[] } | InlineItem[] | null>("textDocument/inlineCompletion", {
    textDocument: { uri },
    position: { line, character },
    context: { triggerKind: 2 }, // Automatic: VS Code asks as the user types
  });
  return answer === null ? [] : Array.isArray(answer) ? answer : answer.items;
}

const began = (session: Session, title: string) => session.progress.some((p) => p.value.kind === "begin" && p.value.title === title);

test("a local suggestion in a function body, with progress, status and the accepted command", { timeout: 300000 }, async () => {
  const root = workspace({ "example.py": BODY });
  const session = await start(root, TEST_SETTINGS);
  try {
    const caps = session.capabilities as Record<string, any>;
    assert.ok(caps.inlineCompletionProvider, "no inlineCompletionProvider");
    assert.ok(caps.positionEncoding === undefined || caps.positionEncoding === "utf-16", caps.positionEncoding);
    assert.ok(caps.executeCommandProvider?.commands?.includes(ACCEPTED_COMMAND), JSON.stringify(caps.executeCommandProvider));
    const uri = open(session, root, "example.py", BODY);
    await statusWhen(session, (status) => status.state === "ready", "the model");
    assert.ok(began(session, "smalllsp: loading model"), JSON.stringify(session.progress));

    const items = await inline(session, uri, 5, 4);

    assert.equal(items.length, 1, JSON.stringify(items));
    const [item] = items;
    assert.ok(item.insertText.trim(), "empty suggestion");
    assert.deepEqual(item.range, { start: { line: 5, character: 4 }, end: { line: 5, character: 4 } });
    assert.equal(item.command?.command, ACCEPTED_COMMAND);
    assert.equal(verdictOf(item.command)?.verdict, "local");
    assert.equal(verdictLabel(verdictOf(item.command)), undefined);

    const status = await statusWhen(session, () => true, "status");
    assert.match(statusView(status, true).text, /^\$\(sparkle\) smalllsp \d+ ms$/);
    assert.match(statusView(status, true).tooltip, /\.gguf on \w+\nloaded in [\d.]+ s\nlast completion \d+ ms/);

    // VS Code runs the item's command after the user accepts it
    await session.connection.sendRequest("workspace/executeCommand", { command: item.command!.command, arguments: item.command!.arguments });
    await statusWhen(session, (s) => s.accepted?.local === 1, "the acceptance to be counted", 10000);
  } finally {
    await stop(session);
  }
});

test("a cross-file suggestion is flagged, and withheld after the policy changes", { timeout: 300000 }, async () => {
  const root = workspace({
    ".git/HEAD": "ref: refs/heads/main\n",
    "billing/__init__.py": "",
    "billing/api.py": BILLING_API,
    "shop/__init__.py": "",
    "shop/checkout.py": CHECKOUT,
    "shop/checkout_again.py": CHECKOUT,
  });
  const settings: Settings = { ...TEST_SETTINGS, global_tokens: 0 };
  const session = await start(root, settings);
  try {
    await statusWhen(session, (s) => s.state === "ready" && s.index?.state === "ready", "the model and the workspace index");
    assert.ok(began(session, "smalllsp: indexing workspace"), JSON.stringify(session.progress));
    const uri = open(session, root, "shop/checkout.py", CHECKOUT);

    const items = await inline(session, uri, 6, 4);

    assert.equal(items.length, 1, JSON.stringify(items));
    assert.match(items[0].insertText, /charge\(/);
    const verdict = verdictOf(items[0].command);
    assert.equal(verdict?.verdict, "cross-file", JSON.stringify(items[0].command));
    assert.match(verdictLabel(verdict) ?? "", /^⚠ cross-file: .*charge/);

    // the user sets smalllsp.cross_file_policy: the extension sends the change
    const update = settingsUpdate(settings, { ...settings, cross_file_policy: "withhold" });
    assert.deepEqual(update, { cross_file_policy: "withhold" });
    await session.connection.sendNotification("workspace/didChangeConfiguration", { settings: { smalllsp: update } });
    const again = open(session, root, "shop/checkout_again.py", CHECKOUT);

    assert.deepEqual(await inline(session, again, 6, 4), []);
    await statusWhen(session, (s) => s.withheld >= 1, "the withheld count", 10000);
  } finally {
    await stop(session);
  }
});
