/**
 * The VS Code side of smalllsp: starts `smalllsp serve`, lets
 * vscode-languageclient turn its textDocument/inlineCompletion answers into
 * ghost text, and shows what the server is doing (status bar, output
 * channel) and which suggestions reach beyond the file (cross-file verdict).
 */
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import { activeInterpreter, documentSelector, initializationOptions, serverCommand } from "./launch";
import { flagged, ServerStatus, STATUS_REQUEST, statusView } from "./protocol";
import { explicitSettings, RESTART_SECTIONS, SECTION, Settings, settingsUpdate } from "./settings";

const STATUS_POLL_MS = 500;

class Controller implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private sent: Settings = {};
  private status: ServerStatus | undefined;
  private flag: { editor: vscode.TextEditor; label: string; reasons: string[] } | undefined;
  private poll: NodeJS.Timeout | undefined;

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

  async start(): Promise<void> {
    const command = serverCommand(this.config.get<string>("server.pythonPath"), await pythonExtensionInterpreter(this.output));
    this.sent = explicitSettings((name) => this.config.inspect(name));
    const serverOptions: ServerOptions = { command: command.command, args: command.args, transport: TransportKind.stdio };
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      initializationOptions: initializationOptions(this.sent),
      outputChannel: this.output,
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
    this.output.info(`starting ${command.command} ${command.args.join(" ")}`);
    this.client = new LanguageClient("smalllsp", "smalllsp", serverOptions, clientOptions);
    this.client.onDidChangeState((event) => {
      if (event.newState === State.Stopped) {
        this.status = { state: "stopped" };
        this.render();
      }
    });
    this.status = undefined;
    this.render();
    try {
      await this.client.start();
    } catch (error) {
      this.status = { state: "failed", error: `the server did not start: ${String(error)}` };
      this.render();
      void vscode.window.showErrorMessage(
        `smalllsp: cannot start \`${command.command} ${command.args.join(" ")}\`: ${String(error)}. Set smalllsp.server.pythonPath to a Python that has smalllsp installed.`,
      );
      return;
    }
    this.pollWhileLoading();
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    const client = this.client;
    this.client = undefined;
    if (client && client.state !== State.Stopped) {
      await client.stop();
    }
  }

  async restart(): Promise<void> {
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
      this.statusItem.tooltip = `This suggestion depends on code the model did not see:\n${this.flag.reasons.join("\n")}\n\n${view.tooltip}`;
      this.statusItem.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
    } else {
      this.statusItem.text = view.text;
      this.statusItem.tooltip = view.tooltip;
      this.statusItem.backgroundColor = this.status?.state === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    }
    this.statusItem.show();
  }

  /** Mark a flagged suggestion: after its line in the editor, and in the status bar. */
  private showVerdict(document: vscode.TextDocument, position: vscode.Position, items: vscode.InlineCompletionItem[]): void {
    this.clearVerdict();
    const found = flagged(items);
    const editor = vscode.window.activeTextEditor;
    if (!found || !editor || editor.document !== document) {
      return;
    }
    editor.setDecorations(this.flagDecoration, [
      { range: new vscode.Range(position, document.lineAt(position.line).range.end), renderOptions: { after: { contentText: found.label } } },
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

  /** Settings changed: restart for the command line, else tell the running server. */
  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    if (RESTART_SECTIONS.some((section) => event.affectsConfiguration(section))) {
      await this.restart();
      return;
    }
    const next = explicitSettings((name) => this.config.inspect(name));
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
  const statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
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
        if (!vscode.workspace.getConfiguration(SECTION).get<string>("server.pythonPath")?.trim()) {
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
