"""The Neovim plugin in a real headless Neovim 0.12, against the real server and default model.

Each test runs one scenario (Lua, stepped by tests/editors/nvim/harness.lua)
and checks what the buffer holds afterwards. "native" is 0.12's
vim.lsp.inline_completion; "extmark" is the plugin's own ghost text for 0.10
and 0.11, forced with ``inline = "extmark"`` in the same binary.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from .conftest import PLUGIN, need_nvim, run_nvim, server_options

pytestmark = pytest.mark.e2e

BODY = '''import math


def circle_area(radius):
    """Return the area of a circle with the given radius."""
    


def main():
    print(circle_area(2.0))
'''
BODY_ROW, BODY_COL = 5, 4  # 0-based: the empty function body
NAMESPACE = {"native": "nvim.lsp.inline_completion", "extmark": "smalllsp.ghost"}


def splice(text: str, row: int, col: int, insert: str) -> list[str]:
    """The buffer's lines after inserting ``insert`` at (row, col) of the file ``text``."""
    lines = text.removesuffix("\n").split("\n")
    lines[row] = lines[row][:col] + insert + lines[row][col:]
    return "\n".join(lines).split("\n")


def body_workspace(tmp_path):
    workspace = tmp_path / "ws"
    (workspace / ".git").mkdir(parents=True)
    (workspace / "example.py").write_text(BODY)
    return workspace


OPEN_BODY = """
require('smalllsp').setup(OPTIONS)
vim.cmd.edit('example.py')
"""

WAIT_FOR_GHOST = """
  H.step('model ready', 120000, H.ready()),
  H.step('insert mode in the body', 2000, function() H.insert_at(6, 4); return true end),
  H.step('ghost text', 180000, function(ctx) ctx.ghost = H.ghost(); return ctx.ghost ~= nil end),
"""

ACCEPT = (
    OPEN_BODY
    + """
H.run({"""
    + WAIT_FOR_GHOST
    + """
  H.step('accept key', 1000, function() H.feed(OPTIONS.keymaps.accept); return true end),
  H.step('suggestion inserted', 10000, function(ctx)
    return H.ghost() == nil and vim.api.nvim_buf_get_lines(0, 5, 6, true)[1] ~= '    '
  end),
  H.step('cursor', 1000, function(ctx) ctx.cursor = H.cursor(); return true end),
  H.step('acceptance counted', 10000, H.status_until(function(status) return H.accepted(status) == 1 end)),
})
"""
)


@pytest.mark.parametrize(
    "inline, lsp_start, accept_key",
    [("native", "enable", "<Tab>"), ("extmark", "enable", "<C-l>"), ("extmark", "start", "<Tab>")],
)
def test_accepting_the_ghost_text_inserts_it(
    nvim, default_model, tmp_path, inline, lsp_start, accept_key
):
    """Open a file, enter insert mode in a function body, wait for ghost text, accept it with the configured key."""
    options = server_options(inline=inline, lsp_start=lsp_start, keymaps={"accept": accept_key})
    outcome = run_nvim(nvim, body_workspace(tmp_path), ACCEPT, options, tmp_path)

    ghost = outcome["ctx"]["ghost"]
    assert ghost["namespace"] == NAMESPACE[inline]
    assert (ghost["row"], ghost["col"]) == (BODY_ROW, BODY_COL)
    suggestion = ghost["text"]
    assert suggestion.strip(), "empty ghost text"
    assert outcome["lines"] == splice(BODY, BODY_ROW, BODY_COL, suggestion)
    last = suggestion.split("\n")
    assert outcome["ctx"]["cursor"] == [
        BODY_ROW + len(last) - 1,
        (BODY_COL if len(last) == 1 else 0) + len(last[-1].encode()),
    ]
    assert outcome["mode"] == "i"


WORD_THEN_LINE = (
    OPEN_BODY
    + """
local function body_line() return vim.api.nvim_buf_get_lines(0, 5, 6, true)[1] end
H.run({"""
    + WAIT_FOR_GHOST
    + """
  H.step('accept word', 1000, function(ctx) ctx.before = body_line(); H.feed('<M-Right>'); return true end),
  H.step('word inserted', 10000, function(ctx) return body_line() ~= ctx.before end),
  H.step('after word', 1000, function(ctx) ctx.after_word = body_line(); ctx.lines_after_word = vim.api.nvim_buf_line_count(0); return true end),
  H.step('rest of the ghost text', 60000, function(ctx) ctx.rest = H.ghost(); return ctx.rest ~= nil end),
  H.step('accept line', 1000, function() H.feed('<M-C-Right>'); return true end),
  H.step('line inserted', 10000, function(ctx) return body_line() ~= ctx.after_word end),
  H.step('after line', 1000, function(ctx) ctx.after_line = body_line(); ctx.lines_after_line = vim.api.nvim_buf_line_count(0); return true end),
})
"""
)


@pytest.mark.parametrize("inline", ["native", "extmark"])
def test_accept_a_word_then_the_rest_of_the_line(nvim, default_model, tmp_path, inline):
    outcome = run_nvim(
        nvim, body_workspace(tmp_path), WORD_THEN_LINE, server_options(inline=inline), tmp_path
    )
    ctx = outcome["ctx"]
    suggestion = ctx["ghost"]["text"]
    first_line = suggestion.split("\n")[0]
    word = re.match(r"[ \t]*\w+|[ \t]*[^\w\s]+", first_line)
    assert word, f"the suggestion starts with no word: {suggestion!r}"
    assert ctx["after_word"] == "    " + word.group(0)
    assert ctx["lines_after_word"] == len(BODY.split("\n")) - 1  # no line break inserted
    # the rest of the suggestion is shown again (extmark: kept; native: the server's cache answers)
    assert ctx["rest"]["text"].startswith(first_line[len(word.group(0)) :]), ctx["rest"]
    assert ctx["after_line"] == "    " + first_line
    assert ctx["lines_after_line"] == ctx["lines_after_word"]


DISMISS = (
    OPEN_BODY
    + """
H.run({"""
    + WAIT_FOR_GHOST
    + """
  H.step('dismiss', 1000, function() H.feed('<C-]>'); return true end),
  H.step('ghost text gone', 5000, function() return H.ghost() == nil end),
  H.step('nothing comes back by itself', 1500, function(ctx)
    ctx.waited = (ctx.waited or 0) + 1
    if H.ghost() ~= nil then error('ghost text came back without an edit') end
    return ctx.waited > 20
  end),
  H.step('after dismiss', 1000, function(ctx)
    ctx.after_dismiss = vim.api.nvim_buf_get_lines(0, 0, -1, true)
    H.feed('<Tab>')
    return true
  end),
  H.step('tab does its own job', 5000, function(ctx)
    ctx.after_tab = vim.api.nvim_buf_get_lines(0, 5, 6, true)[1]
    return ctx.after_tab ~= '    '
  end),
})
"""
)


@pytest.mark.parametrize("inline", ["native", "extmark"])
def test_dismiss_hides_the_suggestion_and_tab_falls_back_to_indenting(
    nvim, default_model, tmp_path, inline
):
    outcome = run_nvim(
        nvim, body_workspace(tmp_path), DISMISS, server_options(inline=inline), tmp_path
    )
    ctx = outcome["ctx"]
    assert ctx["after_dismiss"] == splice(BODY, 0, 0, "")  # the buffer is untouched
    assert ctx["after_tab"].strip() == "" and len(ctx["after_tab"]) > 4, repr(ctx["after_tab"])


BILLING_API = '''def charge(amount, currency="EUR"):
    """Charge the customer and return the receipt."""
    return {"amount": amount, "currency": currency}
'''

CHECKOUT = '''from billing.api import charge


def checkout(cart):
    """Charge the total of the cart in euros."""
    total = sum(item.price for item in cart)
    
'''
CHECKOUT_ROW, CHECKOUT_COL = 6, 4

FLAGGED = """
require('smalllsp').setup(OPTIONS)
vim.cmd.edit('shop/checkout.py')
H.run({
  H.step('model ready and workspace indexed', 120000, H.status_until(function(status)
    return status.state == 'ready' and status.index and status.index.state == 'ready'
  end)),
  H.step('insert mode in the body', 2000, function() H.insert_at(7, 4); return true end),
  H.step('flagged ghost text', 180000, function(ctx)
    ctx.ghost, ctx.label = H.ghost(), H.verdict_label()
    return ctx.ghost ~= nil and ctx.label ~= nil
  end),
  H.step('accept', 1000, function() H.feed('<Tab>'); return true end),
  H.step('inserted', 10000, function() return H.ghost() == nil and vim.api.nvim_buf_get_lines(0, 6, 7, true)[1] ~= '    ' end),
  H.step('verdict label gone', 5000, function() return H.verdict_label() == nil end),
  H.step('cross-file acceptance counted', 10000, H.status_until(function(status)
    local total, local_ones = H.accepted(status)
    return total == 1 and local_ones == 0
  end)),
})
"""


@pytest.mark.parametrize("inline", ["native", "extmark"])
def test_a_cross_file_suggestion_is_shown_flagged(nvim, default_model, tmp_path, inline):
    """charge() comes from billing/api.py, which the model does not see (global_tokens 0): the guard flags it."""
    workspace = tmp_path / "ws"
    (workspace / ".git").mkdir(parents=True)
    (workspace / "billing").mkdir()
    (workspace / "billing" / "__init__.py").write_text("")
    (workspace / "billing" / "api.py").write_text(BILLING_API)
    (workspace / "shop").mkdir()
    (workspace / "shop" / "__init__.py").write_text("")
    (workspace / "shop" / "checkout.py").write_text(CHECKOUT)
    options = server_options(inline=inline, settings={"global_tokens": 0})

    outcome = run_nvim(nvim, workspace, FLAGGED, options, tmp_path)

    ctx = outcome["ctx"]
    assert "charge(" in ctx["ghost"]["text"]
    assert ctx["label"].startswith("⚠ cross-file: ") and "charge" in ctx["label"], ctx["label"]
    assert outcome["lines"] == splice(CHECKOUT, CHECKOUT_ROW, CHECKOUT_COL, ctx["ghost"]["text"])


STATUS_HEALTH_HELP = """
require('smalllsp').setup(OPTIONS)
vim.cmd.edit('example.py')
H.run({
  H.step('model ready', 120000, H.ready()),
  H.step('statusline says ready once the progress ends', 20000, function()
    return require('smalllsp').statusline() == 'smalllsp: ready'
  end),
  H.step(':SmalllspStatus', 10000, function(ctx)
    if not ctx.asked then ctx.asked = true; vim.cmd('SmalllspStatus') end
    for _, note in ipairs(ctx.notifications) do
      if note.message:find('^smalllsp ') then ctx.status_line = note.message; return true end
    end
  end),
  H.step('statusline', 1000, function(ctx) ctx.statusline = require('smalllsp').statusline(); return true end),
  H.step(':checkhealth smalllsp', 60000, function(ctx)
    vim.cmd('checkhealth smalllsp')
    ctx.health = vim.api.nvim_buf_get_lines(0, 0, -1, true)
    vim.cmd('tabclose')
    return true
  end),
  H.step(':help smalllsp', 5000, function(ctx)
    vim.cmd('helptags ' .. vim.fn.fnameescape(OPTIONS_DOC))
    vim.cmd('help smalllsp')
    ctx.help_file = vim.fn.expand('%:t')
    ctx.help_line = vim.api.nvim_get_current_line()
    return true
  end),
})
"""


def test_status_command_checkhealth_and_help(nvim, default_model, tmp_path):
    workspace = body_workspace(tmp_path)
    docs = tmp_path / "plugin-doc"
    shutil.copytree(
        PLUGIN / "doc", docs / "doc"
    )  # helptags writes a tags file: not into the checkout
    scenario = (
        f"vim.opt.rtp:append({str(docs)!r})\nOPTIONS_DOC = {str(docs / 'doc')!r}\n"
        + STATUS_HEALTH_HELP
    )

    outcome = run_nvim(nvim, workspace, scenario, server_options(), tmp_path)

    ctx = outcome["ctx"]
    assert re.match(
        r"smalllsp \d+\.\d+\.\d+: ready · .+\.gguf on \w+ · loaded in [\d.]+ s", ctx["status_line"]
    ), ctx["status_line"]
    assert ctx["statusline"] == "smalllsp: ready"
    loading = [p for p in ctx["progress"] if p.get("title") == "smalllsp: loading model"]
    assert loading and loading[0]["kind"] == "begin", ctx["progress"]
    assert re.fullmatch(r"smalllsp: .*loading model.*…", loading[0]["statusline"]), ctx["progress"]
    health = "\n".join(ctx["health"])
    assert "ERROR" not in health, health
    assert re.search(r"OK Neovim 0\.1\d", health), health
    assert "OK server version: smalllsp " in health, health
    assert re.search(r"OK model default found: .+\.gguf \(\d+ MB\)", health), health
    assert "OK smalllsp " in health and ": ready" in health, health
    assert ctx["help_file"] == "smalllsp.txt"
    assert "*smalllsp*" in ctx["help_line"], ctx["help_line"]


@pytest.mark.parametrize("build", ["0.12-dev", "0.11.4"])
def test_lua_unit_tests(build):
    """The pure Lua parts: partial-accept pieces, columns, verdicts, option checks, menus."""
    nvim = need_nvim(build)
    run = subprocess.run(
        [
            nvim,
            "--headless",
            "--clean",
            "-l",
            str(PLUGIN.parent.parent / "tests/editors/nvim/test_units.lua"),
            str(PLUGIN),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^\d+ passed, 0 failed$", run.stdout, re.M), run.stdout


BAD_SETUP = """
local ok, err = pcall(require('smalllsp').setup, { inline = 'ghost' })
H.ctx.error = err
H.ctx.clients = #vim.lsp.get_clients()
H.run({})
"""


def test_a_bad_option_is_a_clear_error_and_starts_nothing(nvim, tmp_path):
    outcome = run_nvim(nvim, tmp_path, BAD_SETUP, {}, tmp_path)
    assert (
        outcome["ctx"]["error"]
        == 'smalllsp.setup: option inline must be one of auto, native, extmark, got "ghost"'
    )
    assert outcome["ctx"]["clients"] == 0
