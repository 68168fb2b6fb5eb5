// Drives VS Code's real workbench (code-server, in Debian's Chromium) for
// tests/editors/test_vscode_workbench.py, as a person would: keys, the
// command palette, and what the page shows (ghost text, the status bar, the
// notifications, decorations, hovers).
//
// Protocol: one JSON object per line on stdin, {"op": NAME, ...args}; one
// JSON line per request on stdout, {"ok": true, "value": ...} or
// {"ok": false, "error": "..."}. Ops are run one at a time, in order.
//
// Usage: node driver.mjs  (env: SMALLLSP_WORKBENCH_DIR, the folder where
// scripts/install-test-editors put playwright-core; CHROMIUM, the browser)
import { createRequire } from "node:module";
import { join } from "node:path";
import * as readline from "node:readline";

const dir = process.env.SMALLLSP_WORKBENCH_DIR;
const require = createRequire(join(dir, "package.json"));
const { chromium } = require("playwright-core");

let browser;
let context;
let page;
const blocked = [];

const sleep = (ms) => new Promise((wake) => setTimeout(wake, ms));

async function until(what, probe, timeoutMs, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) {
      return last;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(intervalMs);
  }
}

/** Everything the test reads from the page, in one evaluate. */
function snapshot() {
  const text = (element) => (element?.textContent ?? "").replace(/\u00a0/g, " ");
  const status = [...document.querySelectorAll(".statusbar-item")].find((item) => /smalllsp/.test(item.getAttribute("aria-label") ?? "") || /smalllsp/.test(item.id));
  const icons = status ? [...status.querySelectorAll(".codicon")].map((icon) => [...icon.classList].filter((c) => c.startsWith("codicon-")).join(" ")) : [];
  const editor = document.querySelector(".editor-group-container.active .monaco-editor") ?? document.querySelector(".monaco-editor");
  // ghost text: the part on the cursor line (an injected decoration), then whole lines below it (a view zone)
  let ghost = null;
  if (editor) {
    const inline = [...editor.querySelectorAll(".view-lines .ghost-text-decoration")].map(text).join("");
    const zoneLines = [...editor.querySelectorAll(".view-zones .ghost-text .view-line")].map(text);
    const preview = [...editor.querySelectorAll(".ghost-text-decoration-preview")].map(text).join("");
    if (inline || zoneLines.length || preview) {
      ghost = { inline, lines: zoneLines, preview };
    }
  }
  // decorations' after-text is CSS content: find the rule, then an element of that class in the editor
  const afterTexts = [];
  for (const sheet of document.styleSheets) {
    let rules;
    try {
      rules = sheet.cssRules;
    } catch {
      continue;
    }
    for (const rule of rules) {
      const content = rule.style?.content;
      if (rule.selectorText && content && content.includes("cross-file")) {
        const match = /\.([\w-]+)::?after/.exec(rule.selectorText);
        const shown = match && editor ? editor.querySelector(`.view-lines .${match[1]}`) !== null : false;
        afterTexts.push({ selector: rule.selectorText, content: JSON.parse(content.replace(/^'|'$/g, '"')), shown });
      }
    }
  }
  const toasts = [...document.querySelectorAll(".notifications-toasts .notification-toast-container")].map((toast) => text(toast.querySelector(".notification-list-item-message")));
  const hovers = [...document.querySelectorAll(".workbench-hover, .monaco-hover:not(.hidden)")].map((hover) => hover.innerText).filter(Boolean);
  const tabs = [...document.querySelectorAll(".tabs-container .tab")].map((tab) => ({ label: tab.getAttribute("aria-label"), dirty: tab.classList.contains("dirty"), active: tab.classList.contains("active") }));
  return {
    workbench: document.querySelector(".monaco-workbench") !== null,
    status: status ? { text: text(status).trim(), label: status.getAttribute("aria-label"), icons, id: status.id } : null,
    ghost,
    afterTexts,
    toasts,
    hovers,
    tabs,
  };
}

async function quickInput(prefix, value) {
  await page.keyboard.press(prefix);
  const input = page.locator(".quick-input-widget .quick-input-box input");
  await input.waitFor({ state: "visible", timeout: 15000 });
  await input.fill(value);
  await sleep(400);
}

const ops = {
  async launch({ url, screenshotsDir }) {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // the page may reach only 127.0.0.1
    await context.route("**/*", (route) => {
      const target = new URL(route.request().url());
      if (["http:", "https:", "ws:", "wss:"].includes(target.protocol) && target.hostname !== "127.0.0.1") {
        blocked.push(target.href);
        return route.abort();
      }
      return route.continue();
    });
    page = await context.newPage();
    await page.goto(url);
    await page.locator(".monaco-workbench .part.statusbar").waitFor({ state: "visible", timeout: 120000 });
    return { screenshotsDir };
  },

  /** Open a workspace file by quick open (Ctrl+P), and wait for its tab. */
  async open({ path }) {
    const name = path.split("/").pop();
    await quickInput("Control+P", path);
    await page.locator(".quick-input-list .monaco-list-row").first().waitFor({ timeout: 15000 });
    await page.keyboard.press("Enter");
    await until(`the tab of ${path}`, () => page.evaluate((n) => [...document.querySelectorAll(".tabs-container .tab.active")].some((t) => (t.getAttribute("aria-label") ?? "").startsWith(n)), name), 30000);
    await page.locator(".editor-group-container.active .monaco-editor .view-lines").first().click({ position: { x: 5, y: 5 } });
    return true;
  },

  /** Put the cursor at line:column (1-based) with Go to Line (Ctrl+G). */
  async goto({ line, column }) {
    await quickInput("Control+G", `:${line}:${column}`);
    await page.keyboard.press("Enter");
    await sleep(300);
    return true;
  },

  /** Run a command from the palette by its title. */
  async command({ title }) {
    await quickInput("F1", `>${title}`);
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
    await row.waitFor({ timeout: 15000 });
    await row.click();
    await sleep(300);
    return true;
  },

  /** The Settings editor (UI) filtered by `query`: the titles and categories of the settings it lists. */
  async settingsLabels({ query, tab }) {
    await ops.command({ title: "Preferences: Open Settings (UI)" });
    if (tab) {
      const target = page.locator(".settings-editor .settings-tabs-widget .action-label", { hasText: tab }).first();
      await target.click({ timeout: 15000 });
      await sleep(500);
    }
    const search = page.locator(".settings-editor .settings-header .monaco-editor textarea").first();
    await search.waitFor({ timeout: 30000 });
    await search.focus();
    await page.keyboard.press("Control+A");
    await page.keyboard.type(query, { delay: 20 });
    await until("settings to be listed", () => page.evaluate(() => document.querySelectorAll(".settings-editor .setting-item-label").length > 0), 30000);
    await sleep(1500); // the filter settles
    return page.evaluate(() => ({
      tabs: [...document.querySelectorAll(".settings-editor .settings-tabs-widget .action-label")].map((t) => t.textContent.trim()),
      items: [...document.querySelectorAll(".settings-editor .settings-tree-container .setting-item-contents")].map((item) => ({
        category: (item.querySelector(".setting-item-category")?.textContent ?? "").trim(),
        label: (item.querySelector(".setting-item-label")?.textContent ?? "").trim(),
      })),
    }));
  },

  async press({ key }) {
    await page.keyboard.press(key);
    return true;
  },

  async type({ text }) {
    await page.keyboard.type(text, { delay: 30 });
    return true;
  },

  async snapshot() {
    return page.evaluate(snapshot);
  },

  /** Poll the page until a JavaScript predicate over the snapshot holds; return the snapshots seen (distinct status texts) and the last one. */
  async waitFor({ predicate, timeoutMs, what }) {
    const test = new Function("s", `return (${predicate});`);
    const statuses = [];
    const last = await until(what ?? predicate, async () => {
      const s = await page.evaluate(snapshot);
      const seen = s.status ? `${s.status.icons.join(",")}|${s.status.text}` : null;
      if (seen && statuses.at(-1) !== seen) {
        statuses.push(seen);
      }
      return test(s) ? s : null;
    }, timeoutMs ?? 60000, 100);
    return { last, statuses };
  },

  /** Hover an element (by CSS selector) and return the hover's text. */
  async hover({ selector, timeoutMs }) {
    await page.mouse.move(1, 1);
    await sleep(200);
    await page.locator(selector).first().hover();
    const text = await until(`a hover over ${selector}`, () => page.evaluate(() => [...document.querySelectorAll(".workbench-hover, .monaco-hover:not(.hidden)")].map((h) => h.innerText.replace(/\u00a0/g, " ")).filter(Boolean).join("\n---\n")), timeoutMs ?? 10000);
    return text;
  },

  /** All notifications (the notification center's list, toasts included). */
  async notifications() {
    await quickInput("F1", ">Notifications: Show Notifications");
    await page.keyboard.press("Enter");
    await sleep(800);
    const messages = await page.evaluate(() => [...document.querySelectorAll(".notifications-center .notification-list-item")].map((item) => (item.querySelector(".notification-list-item-message")?.textContent ?? "").replace(/\u00a0/g, " ")));
    await page.keyboard.press("Escape");
    return messages;
  },

  async screenshot({ path, selector }) {
    const target = selector ? page.locator(selector).first() : page;
    await target.screenshot({ path, type: "png" });
    return path;
  },

  /** Close the window (the page), as a user closes the tab. */
  async closePage() {
    await page.close({ runBeforeUnload: true });
    return true;
  },

  async blocked() {
    return blocked;
  },

  async quit() {
    await browser?.close();
    return true;
  },
};

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) {
    continue;
  }
  let reply;
  try {
    const request = JSON.parse(line);
    const op = ops[request.op];
    if (!op) {
      throw new Error(`unknown op ${request.op}`);
    }
    reply = { ok: true, value: (await op(request)) ?? null };
  } catch (error) {
    reply = { ok: false, error: String(error?.stack ?? error) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
  if (JSON.parse(line).op === "quit") {
    break;
  }
}
await browser?.close().catch(() => undefined);
process.exit(0);
