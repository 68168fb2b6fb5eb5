/**
 * The VS Code side of smalllsp: starts `smalllsp serve`, lets
 * vscode-languageclient turn its textDocument/inlineCompletion answers into
 * ghost text, and shows what the server is doing (status bar, output
 * channel) and which suggestions reach beyond the file (cross-file verdict).
 */
import * as readline from "node:readline";
import * as vscode from "vscode";
import {
  CloseAction,
  CloseHandlerResult,
  DidChangeConfigurationNotification,
  ErrorAction,
  ErrorHandlerResult,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import { activeInterpreter, clientCommandLine, documentSelector, initializationOptions, serverCommand } from "./launch";
import { flagged, ServerStatus, shortLabel, STATUS_REQUEST, statusView } from "./protocol";
import { startFailureMessage, StderrLog } from "./serverlog";
import { explicitSettings, explicitValue, SECTION, SERVER_SETTINGS, Settings, settingsUpdate } from "./settings";

const STATUS_POLL_MS = 500;
const RESTARTS = 3; // a server that ran and then died is restarted this often in RESTART_WINDOW_MS
const RESTART_WINDOW_MS = 3 * 60 * 1000;

/**
 * The language client, with its own error pop-ups routed to the controller:
 * vscode-languageclient shows a notification for each failed start and
 * restart ("couldn't create connection", "crashed 5 times", ...); the
 * controller shows one, with the server's own reason from stderr.
 */
class Client extends LanguageClient {
  constructor(
    serverOptions: ServerOptions,
    clientOptions: LanguageClientOptions,
    private readonly errors: (message: string) => void,
  ) {
    super("smalllsp", "smalllsp", serverOptions, clientOptions);
  }

  override error(message: string, data?: unknown, _showNotification?: boolean | "force"): void {
    super.error(message, data, false);
    this.errors(message);
  }
}

class Controller implements vscode.Disposable {
  private client: Client | undefined;
  private sent: Settings = {};
  private userOnly: string = "";
  private status: ServerStatus | undefined;
  private flag: { editor: vscode.TextEditor; label: string; reasons: string[] } | undefined;
  private poll: NodeJS.Timeout | undefined;
  private readonly stderr = new StderrLog();
  private stderrOpen: Promise<void> = Promise.resolve();
  private clientErrors: string[] = [];
  private running = false; // the current process got through initialize
  private crashes: number[] = [];
  private commandLine = "";
  private configuredPython = false;

  constructor(
    private readonly output: vscode.LogOutputChannel,
    private readonly statusItem: vscode.StatusBarItem,
    private readonly flagDecoration: vscode.TextEditorDecorationType,
  ) {}

  private get config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  get enabled(): boolean {
    return this.config.get<boolean>("client.enabled", true);
  }

  /** smalllsp.server.pythonPath from the user's settings only (scope machine): never a workspace's. */
  private configuredInterpreter(): string | undefined {
    const value = explicitValue(this.config.inspect<string>("server.pythonPath"), true);
    return typeof value === "string" && value.trim() ? value.trim() : undefined;
  }

  /** The user-only values that the running server was started with, as one comparable string. */
  private userOnlySnapshot(): string {
    const values = SERVER_SETTINGS.filter((s) => s.userOnly).map((s) => [s.name, explicitValue(this.config.inspect(s.key), true)]);
    return JSON.stringify([this.configuredInterpreter() ?? null, values]);
  }

  async start(): Promise<void> {
    const python = this.configuredInterpreter();
    this.configuredPython = python !== undefined;
    const command = serverCommand(python, python ? undefined : await pythonExtensionInterpreter(this.output), process.pid);
    this.commandLine = clientCommandLine(command).join(" ");
    this.sent = explicitSettings((key) => this.config.inspect(key));
    this.userOnly = this.userOnlySnapshot();
    this.stderr.reset();
    this.clientErrors = [];
    this.running = false;
    const serverOptions: ServerOptions = { command: command.command, args: command.args, transport: TransportKind.stdio };
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      initializationOptions: initializationOptions(this.sent),
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationFailedHandler: () => false,
      errorHandler: {
        error: (error, _message, count): ErrorHandlerResult => {
          if (count !== undefined && count > 3) {
            void this.notifyError(`smalllsp: the connection to the server keeps failing (${error.message}); it is stopped. Restart it with "smalllsp: Restart the server".`);
            return { action: ErrorAction.Shutdown, handled: true };
          }
          return { action: ErrorAction.Continue, handled: true };
        },
        closed: () => this.closed(),
      },
      stdioOptions: {
        stdout: (input, channel) => {
          readline.createInterface({ input, crlfDelay: Infinity }).on("line", (line) => channel.info(line));
        },
        stderr: (input, channel) => {
          this.stderrOpen = new Promise((done) => {
            input.on("close", done);
            input.on("end", done);
          });
          readline.createInterface({ input, crlfDelay: Infinity }).on("line", (raw) => {
            const line = this.stderr.line(raw);
            if (line.text !== "") {
              channel[line.level](line.text);
            }
          });
        },
      },
      middleware: {
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          if (!this.enabled) {
            return null;
          }
          const result = await next(document, position, context, token);
          const items = Array.isArray(result) ? result : (result?.items ?? []);
          this.showVerdict(document, position, items);
          void this.refreshStatus();
          return result;
        },
      },
    };
    this.output.info(`starting ${this.commandLine}`);
    const client = new Client(serverOptions, clientOptions, (message) => this.clientErrors.push(message));
    this.client = client;
    client.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        this.running = true;
      }
      if (event.newState === State.Stopped && this.client === client && this.status?.state !== "failed") {
        this.status = { state: "stopped" };
        this.render();
      }
    });
    this.status = undefined;
    this.render();
    try {
      await client.start();
    } catch (error) {
      if (this.client === client) {
        await this.reportStartFailure(String(error));
      }
      return;
    }
    this.pollWhileLoading();
  }

  /** The connection closed: restart a server that had been running, a few times; never one that did not start. */
  private async closed(): Promise<CloseHandlerResult> {
    if (!this.running) {
      return { action: CloseAction.DoNotRestart, handled: true }; // start() fails and reports it once
    }
    const now = Date.now();
    this.crashes = this.crashes.filter((at) => now - at < RESTART_WINDOW_MS);
    this.crashes.push(now);
    if (this.crashes.length <= RESTARTS) {
      this.output.warn(`the server stopped (${this.stderr.reason() ?? "no reason on stderr"}); restarting it`);
      this.running = false;
      return { action: CloseAction.Restart, handled: true };
    }
    await this.stderrClosed();
    const reason = this.stderr.reason() ?? "see the smalllsp output channel";
    this.status = { state: "failed", error: `the server stopped ${this.crashes.length} times in 3 minutes: ${reason}` };
    this.render();
    void this.notifyError(`smalllsp: the server stopped ${this.crashes.length} times in 3 minutes and is not restarted: ${reason}`);
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  /** Wait (briefly) for the server's last stderr lines. */
  private async stderrClosed(): Promise<void> {
    await Promise.race([this.stderrOpen, new Promise((done) => setTimeout(done, 2000))]);
  }

  private async reportStartFailure(error: string): Promise<void> {
    await this.stderrClosed();
    // the client logs "Server process exited with code N." when the process is reaped, which may come a little later
    for (let i = 0; i < 10 && !this.clientErrors.some((m) => /exited with (code|signal)/.test(m)); i++) {
      await new Promise((done) => setTimeout(done, 100));
    }
    const clientError = [error, ...this.clientErrors].find((m) => /exited with (code|signal)/.test(m)) ?? error;
    const message = startFailureMessage({
      commandLine: this.commandLine,
      clientError,
      stderrReason: this.stderr.reason(),
      configuredPython: this.configuredPython,
    });
    this.status = { state: "failed", error: message.replace(/^smalllsp: /, "") };
    this.render();
    this.output.error(message);
    void this.notifyError(message);
  }

  private async notifyError(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, "Show log");
    if (choice === "Show log") {
      this.output.show();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    const client = this.client;
    this.client = undefined;
    if (client && client.state !== State.Stopped) {
      try {
        await client.stop();
      } catch (error) {
        this.output.warn(`stopping the server: ${String(error)}`);
      }
    }
  }

  async restart(): Promise<void> {
    this.crashes = [];
    await this.stop();
    await this.start();
  }

  /** Ask for smalllsp/status until the model is no longer loading. */
  private pollWhileLoading(): void {
    clearInterval(this.poll);
    this.poll = setInterval(() => {
      void this.refreshStatus().then(() => {
        if (this.status && this.status.state !== "loading") {
          clearInterval(this.poll);
        }
      });
    }, STATUS_POLL_MS);
  }

  async refreshStatus(): Promise<ServerStatus | undefined> {
    const client = this.client;
    if (!client || client.state !== State.Running) {
      return this.status;
    }
    try {
      this.status = await client.sendRequest<ServerStatus>(STATUS_REQUEST, {});
    } catch (error) {
      this.output.warn(`${STATUS_REQUEST} failed: ${String(error)}`);
    }
    this.render();
    return this.status;
  }

  render(): void {
    const view = statusView(this.status, this.enabled);
    if (this.flag && this.enabled) {
      this.statusItem.text = "$(warning) smalllsp: cross-file";
      const tooltip = new vscode.MarkdownString();
      tooltip.appendText("This suggestion depends on code the model did not see:\n");
      for (const reason of this.flag.reasons) {
        tooltip.appendMarkdown("\n- ").appendText(reason);
      }
      tooltip.appendMarkdown("\n\n---\n\n").appendText(view.tooltip);
      this.statusItem.tooltip = tooltip;
      this.statusItem.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
    } else {
      this.statusItem.text = view.text;
      this.statusItem.tooltip = view.tooltip;
      this.statusItem.backgroundColor = this.status?.state === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    }
    this.statusItem.show();
  }

  /** Mark a flagged suggestion: after its line in the editor (hover: every reason), and in the status bar. */
  private showVerdict(document: vscode.TextDocument, position: vscode.Position, items: vscode.InlineCompletionItem[]): void {
    this.clearVerdict();
    const found = flagged(items);
    const editor = vscode.window.activeTextEditor;
    if (!found || !editor || editor.document !== document) {
      return;
    }
    const hover = new vscode.MarkdownString();
    hover.appendMarkdown("**smalllsp: cross-file suggestion**\n");
    for (const reason of found.verdict.reasons) {
      hover.appendMarkdown("\n- ").appendText(reason);
    }
    editor.setDecorations(this.flagDecoration, [
      {
        range: new vscode.Range(position, document.lineAt(position.line).range.end),
        hoverMessage: hover,
        renderOptions: { after: { contentText: shortLabel(found.label) } },
      },
    ]);
    this.flag = { editor, label: found.label, reasons: found.verdict.reasons };
    this.render();
  }

  clearVerdict(): void {
    if (this.flag) {
      this.flag.editor.setDecorations(this.flagDecoration, []);
      this.flag = undefined;
      this.render();
    }
  }

  /** Settings changed: restart for the command line and the user-only settings, else tell the running server. */
  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    if (this.userOnlySnapshot() !== this.userOnly) {
      this.output.info("the interpreter, model or engine settings changed: restarting the server");
      await this.restart();
      return;
    }
    const next = explicitSettings((key) => this.config.inspect(key));
    const update = settingsUpdate(this.sent, next);
    this.sent = next;
    if (Object.keys(update).length > 0 && this.client?.state === State.Running) {
      await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: update } });
      if (this.status?.state !== "loading") {
        this.pollWhileLoading(); // a model setting reloads the model
      }
    }
    this.render();
  }

  async showStatus(): Promise<void> {
    const status = await this.refreshStatus();
    const view = statusView(status, this.enabled);
    const choice = await vscode.window.showInformationMessage(view.tooltip.replace(/\n/g, " · "), "Show log", "Restart");
    if (choice === "Show log") {
      this.output.show();
    } else if (choice === "Restart") {
      await this.restart();
    }
  }

  dispose(): void {
    clearInterval(this.poll);
  }
}

/** The Python extension's API, when that extension is installed. */
async function pythonExtensionApi(output: vscode.LogOutputChannel): Promise<unknown> {
  const extension = vscode.extensions.getExtension("ms-python.python");
  if (!extension) {
    return undefined;
  }
  try {
    return extension.isActive ? extension.exports : await extension.activate();
  } catch (error) {
    output.warn(`the Python extension did not activate: ${String(error)}`);
    return undefined;
  }
}

/** The Python extension's active interpreter, when that extension is installed. */
async function pythonExtensionInterpreter(output: vscode.LogOutputChannel): Promise<string | undefined> {
  return activeInterpreter(await pythonExtensionApi(output), vscode.window.activeTextEditor?.document.uri);
}

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("smalllsp", { log: true });
  const statusItem = vscode.window.createStatusBarItem("smalllsp.status", vscode.StatusBarAlignment.Right, 100);
  statusItem.name = "smalllsp";
  statusItem.command = "smalllsp.showStatus";
  const flagDecoration = vscode.window.createTextEditorDecorationType({
    after: { margin: "0 0 0 2em", color: new vscode.ThemeColor("editorWarning.foreground") },
  });
  const current = new Controller(output, statusItem, flagDecoration);
  controller = current;
  context.subscriptions.push(
    output,
    statusItem,
    flagDecoration,
    current,
    vscode.commands.registerCommand("smalllsp.restart", () => current.restart()),
    vscode.commands.registerCommand("smalllsp.showStatus", () => current.showStatus()),
    vscode.commands.registerCommand("smalllsp.showOutput", () => output.show()),
    vscode.commands.registerCommand("smalllsp.toggle", () =>
      vscode.workspace.getConfiguration(SECTION).update("client.enabled", !current.enabled, vscode.ConfigurationTarget.Global),
    ),
    vscode.workspace.onDidChangeConfiguration((event) => current.configurationChanged(event)),
    vscode.window.onDidChangeTextEditorSelection(() => current.clearVerdict()),
    vscode.workspace.onDidChangeTextDocument(() => current.clearVerdict()),
  );
  await current.start();
  // a new active interpreter in the Python extension restarts the server, unless a path is set
  const python = (await pythonExtensionApi(output)) as
    | { environments?: { onDidChangeActiveEnvironmentPath?: vscode.Event<unknown> } }
    | undefined;
  const changed = python?.environments?.onDidChangeActiveEnvironmentPath;
  if (changed) {
    context.subscriptions.push(
      changed(() => {
        const configured = explicitValue(vscode.workspace.getConfiguration(SECTION).inspect<string>("server.pythonPath"), true);
        if (typeof configured !== "string" || !configured.trim()) {
          void current.restart();
        }
      }),
    );
  }
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}
