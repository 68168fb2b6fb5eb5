"""The Neovim plugin's display path against a scripted server (fake_server.py).

These pin down what the real model cannot be made to do on demand: several
candidates to cycle through, a flagged item with known reasons, a slow answer
to cancel, a suggestion to type along. The real server and model run the same
plugin in test_neovim.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run_nvim

FAKE = [sys.executable, str(Path(__file__).parent / "fake_server.py")]
SOURCE = "def area(radius):\n    \n"
ROW, COL = 1, 4

FLAG_REASON = "uses charge() from billing/api.py, not seen by the model"


def accepted_command(verdict: str, reasons: list[str]) -> dict:
    title = f"smalllsp: cross-file — {reasons[0]}" if verdict == "cross-file" else "smalllsp: local"
    return {
        "title": title,
        "command": "smalllsp.accepted",
        "arguments": [{"verdict": verdict, "reasons": reasons}],
    }


def run_fake(
    nvim,
    tmp_path,
    scenario: str,
    items: list[dict],
    options: dict,
    delay_s: float = 0,
    once: bool = False,
    before_setup: str = "",
):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "example.py").write_text(SOURCE)
    log = tmp_path / "fake.jsonl"
    log.touch()
    env = {"FAKE_ITEMS": json.dumps(items), "FAKE_DELAY_S": str(delay_s), "FAKE_LOG": str(log)}
    if once:
        env["FAKE_ONCE"] = "1"
    prelude = (
        f"FAKE_LOG = {str(log)!r}\n"
        + """
local function events(kind)
  local found = {}
  for line in io.lines(FAKE_LOG) do
    local event = vim.json.decode(line)
    if event.event == kind then table.insert(found, event) end
  end
  return found
end
"""
        + before_setup
        + """
require('smalllsp').setup(OPTIONS)
vim.cmd.edit('example.py')
"""
    )
    outcome = run_nvim(
        nvim,
        workspace,
        prelude + scenario,
        {"cmd": FAKE, **options},
        tmp_path,
        timeout=120,
        env=env,
    )
    return outcome, [json.loads(line) for line in log.read_text().splitlines()]


CYCLE = """
H.run({
  H.step('server ready', 20000, H.ready()),
  H.step('insert', 1000, function() H.insert_at(2, 4); return true end),
  H.step('first candidate', 10000, function(ctx) ctx.first = H.ghost(); ctx.first_label = H.verdict_label(); return ctx.first ~= nil end),
  H.step('next', 1000, function() H.feed('<M-]>'); return true end),
  H.step('second candidate', 5000, function(ctx)
    local ghost = H.ghost()
    if ghost and ghost.text ~= ctx.first.text then ctx.second = ghost; return true end
  end),
  H.step('previous', 1000, function() H.feed('<M-[>'); return true end),
  H.step('first again', 5000, function(ctx)
    local ghost = H.ghost()
    if ghost and ghost.text == ctx.first.text then ctx.again = ghost; return true end
  end),
  H.step('accept', 1000, function() H.feed('<Tab>'); return true end),
  H.step('inserted', 5000, function() return vim.api.nvim_buf_get_lines(0, 1, 2, true)[1] ~= '    ' end),
  H.step('command run', 5000, function() return #events('accepted') == 1 end),
})
"""


@pytest.mark.parametrize("inline", ["native", "extmark"])
def test_cycling_through_candidates_and_accepting_one(nvim, tmp_path, inline):
    items = [
        {"insertText": "return 3.14 * radius ** 2", "command": accepted_command("local", [])},
        {
            "insertText": "return math.pi * radius * radius",
            "command": accepted_command("local", []),
        },
    ]
    outcome, log = run_fake(nvim, tmp_path, CYCLE, items, {"inline": inline})
    ctx = outcome["ctx"]
    assert ctx["first"]["text"] == items[0]["insertText"]
    assert ctx.get("first_label") is None  # a local suggestion carries no warning
    assert ctx["second"]["text"] == items[1]["insertText"]
    assert any("(2/2)" in part for part in ctx["second"]["extra"]), ctx["second"]
    assert ctx["again"]["text"] == items[0]["insertText"]
    assert any("(1/2)" in part for part in ctx["again"]["extra"]), ctx["again"]
    assert outcome["lines"][ROW] == "    " + items[0]["insertText"]
    assert [e["arguments"] for e in log if e["event"] == "accepted"] == [
        [{"verdict": "local", "reasons": []}]
    ]


FLAGGED = """
H.run({
  H.step('server ready', 20000, H.ready()),
  H.step('insert', 1000, function() H.insert_at(2, 4); return true end),
  H.step('flagged ghost text', 10000, function(ctx)
    ctx.ghost, ctx.label = H.ghost(), H.verdict_label()
    return ctx.ghost ~= nil and ctx.label ~= nil
  end),
  H.step(':SmalllspStatus', 5000, function(ctx)
    if not ctx.asked then ctx.asked = true; vim.cmd('SmalllspStatus') end
    for _, note in ipairs(ctx.notifications) do
      if note.message:find('shown suggestion') then ctx.status_text = note.message; return true end
    end
  end),
  H.step('accept', 1000, function() H.feed('<Tab>'); return true end),
  H.step('command run', 5000, function() return #events('accepted') == 1 end),
  H.step('label gone', 2000, function(ctx) return H.verdict_label() == nil end),
})
"""


@pytest.mark.parametrize("inline", ["native", "extmark"])
def test_a_flagged_item_shows_its_first_reason_and_reports_the_verdict_on_accept(
    nvim, tmp_path, inline
):
    items = [
        {
            "insertText": "return charge(total)",
            "command": accepted_command("cross-file", [FLAG_REASON, "second reason"]),
        }
    ]
    outcome, log = run_fake(nvim, tmp_path, FLAGGED, items, {"inline": inline})
    ctx = outcome["ctx"]
    assert ctx["ghost"]["text"] == "return charge(total)"
    # 80 columns: "    return charge(total)  " leaves too little room for the whole reason
    assert ctx["label"] == "⚠ cross-file: uses charge() from b… (:SmalllspStatus)"
    assert (
        ctx["status_text"].split("\n")[1]
        == f"shown suggestion: cross-file: {FLAG_REASON}; second reason"
    )
    assert outcome["lines"][ROW] == "    return charge(total)"
    accepted = [e["arguments"] for e in log if e["event"] == "accepted"]
    assert accepted == [[{"verdict": "cross-file", "reasons": [FLAG_REASON, "second reason"]}]]


def test_verdict_display_can_be_turned_off(nvim, tmp_path):
    items = [
        {
            "insertText": "return charge(total)",
            "command": accepted_command("cross-file", [FLAG_REASON]),
        }
    ]
    scenario = """
H.run({
  H.step('server ready', 20000, H.ready()),
  H.step('insert', 1000, function() H.insert_at(2, 4); return true end),
  H.step('ghost text', 10000, function(ctx) ctx.ghost = H.ghost(); ctx.label = H.verdict_label(); return ctx.ghost ~= nil end),
})
"""
    outcome, _log = run_fake(
        nvim, tmp_path, scenario, items, {"inline": "extmark", "verdict": False}
    )
    assert outcome["ctx"]["ghost"]["text"] == "return charge(total)"
    assert outcome["ctx"].get("label") is None


DEBOUNCE_AND_CANCEL = """
local function pause(ms)
  local started
  return function() started = started or vim.uv.now(); return vim.uv.now() - started >= ms end
end
H.run({
  H.step('server ready', 20000, H.ready()),
  H.step('insert', 1000, function() H.insert_at(2, 4); return true end),
  H.step('type x', 1000, function() H.feed('x'); return true end),
  H.step('pause', 1000, pause(100)),
  H.step('type y', 1000, function() H.feed('y'); return true end),
  H.step('pause', 1000, pause(100)),
  H.step('type z', 1000, function() H.feed('z'); return true end),
  H.step('one request after the pause', 5000, function() return #events('request') >= 1 end),
  H.step('and no other', 2000, pause(1000)),
  H.step('count', 1000, function(ctx) ctx.requests_after_typing = #events('request'); return true end),
  H.step('type w while the model runs', 1000, function() H.feed('w'); return true end),
  H.step('the first request is cancelled', 5000, function() return #events('cancelled') == 1 end),
  H.step('ghost text for the new position', 20000, function(ctx) ctx.ghost = H.ghost(); return ctx.ghost ~= nil end),
})
"""


def test_extmark_path_debounces_typing_and_cancels_a_superseded_request(nvim, tmp_path):
    items = [{"insertText": "_total = 0"}]
    outcome, log = run_fake(
        nvim,
        tmp_path,
        DEBOUNCE_AND_CANCEL,
        items,
        {"inline": "extmark", "debounce_ms": 800},
        delay_s=3,
    )
    ctx = outcome["ctx"]
    assert ctx["requests_after_typing"] == 1, (
        log
    )  # InsertEnter and three keystrokes 100 ms apart: one request
    requests = [
        (e["event"], e["character"])
        for e in log
        if e["event"] in ("request", "cancelled", "answer")
    ]
    assert requests == [("request", 7), ("cancelled", 7), ("request", 8), ("answer", 8)], requests
    assert (ctx["ghost"]["row"], ctx["ghost"]["col"]) == (ROW, 8)
    assert outcome["lines"][ROW] == "    xyzw"


TYPE_ALONG = """
H.run({
  H.step('server ready', 20000, H.ready()),
  H.step('insert', 1000, function() H.insert_at(2, 4); return true end),
  H.step('ask now (next, with nothing shown)', 1000, function() H.feed('<M-]>'); return true end),
  H.step('ghost text', 10000, function(ctx) ctx.ghost = H.ghost(); return ctx.ghost ~= nil end),
  H.step('type along', 1000, function() H.feed('ret'); return true end),
  H.step('rest of the ghost text', 5000, function(ctx)
    local ghost = H.ghost()
    if ghost and ghost.col == 7 then ctx.rest = ghost; return true end
  end),
  H.step('accept a word', 1000, function() H.feed('<M-Right>'); return true end),
  H.step('word inserted', 5000, function(ctx)
    ctx.after_word = vim.api.nvim_buf_get_lines(0, 1, 2, true)[1]
    return ctx.after_word ~= '    ret'
  end),
  H.step('accept the rest', 1000, function(ctx) ctx.after_word_ghost = H.ghost(); H.feed('<Tab>'); return true end),
  H.step('all inserted', 5000, function() return H.ghost() == nil and #events('accepted') == 1 end),
})
"""


def test_extmark_path_keeps_the_rest_of_a_suggestion_while_typing_along_it(nvim, tmp_path):
    items = [{"insertText": "return radius * 2", "command": accepted_command("local", [])}]
    # one answer only, asked for with the "next" key, and a debounce longer than
    # the scenario: all that is shown comes from that first answer
    outcome, log = run_fake(
        nvim, tmp_path, TYPE_ALONG, items, {"inline": "extmark", "debounce_ms": 20000}, once=True
    )
    ctx = outcome["ctx"]
    assert ctx["rest"]["text"] == "urn radius * 2"
    assert ctx["after_word"] == "    return"
    assert ctx["after_word_ghost"]["text"] == " radius * 2"
    assert outcome["lines"][ROW] == "    return radius * 2"
    assert [(e["event"], e.get("trigger")) for e in log if e["event"] == "request"] == [
        ("request", 1)
    ]  # 1: Invoked


SETTINGS = """
H.run({
  H.step('server ready', 20000, H.ready()),
  H.step('configuration answered', 5000, function() return #events('configuration') == 1 end),
  H.step('update settings', 1000, function()
    require('smalllsp').update_settings({ cross_file_policy = 'withhold' })
    return true
  end),
  H.step('change sent', 5000, function() return #events('didChangeConfiguration') == 2 end),
})
"""


def test_settings_reach_the_server_every_way_it_reads_them(nvim, tmp_path):
    """initializationOptions, workspace/configuration, didChangeConfiguration at start and on update_settings()."""
    settings = {"max_lines": 3, "model": "/models/x.gguf"}
    _outcome, log = run_fake(
        nvim, tmp_path, SETTINGS, [], {"inline": "extmark", "settings": settings}
    )
    assert [e["options"] for e in log if e["event"] == "initialize"] == [settings]
    assert [e["answer"] for e in log if e["event"] == "configuration"] == [[settings]]
    pushed = [e["settings"] for e in log if e["event"] == "didChangeConfiguration"]
    assert pushed == [
        {"smalllsp": settings},
        {"smalllsp": {**settings, "cross_file_policy": "withhold"}},
    ]


def test_no_settings_are_sent_as_an_empty_object(nvim, tmp_path):
    scenario = "H.run({ H.step('server ready', 20000, H.ready()) })"
    _outcome, log = run_fake(nvim, tmp_path, scenario, [], {"inline": "extmark"})
    assert [e["options"] for e in log if e["event"] == "initialize"] == [{}]
    assert not [e for e in log if e["event"] == "didChangeConfiguration"]


FALLBACK_KEYS = """
H.run({
  H.step('server ready', 20000, H.ready()),
  H.step('insert', 1000, function() H.insert_at(2, 4); return true end),
  H.step('no suggestion', 3000, function() return #events('request') >= 1 and H.ghost() == nil end),
  H.step('keys', 1000, function() H.feed('<Tab><M-Right><C-]><M-C-Right>'); return true end),
  H.step('their own jobs done', 5000, function()
    return vim.api.nvim_buf_get_lines(0, 1, 2, true)[1] == '    [callback][expr][rhs][remapped]'
  end),
})
"""


def test_with_no_suggestion_the_keys_run_the_mappings_they_replaced(nvim, tmp_path):
    """A callback mapping, an <expr> one, a plain one and a recursive one, made before the plugin attached."""
    before = """
vim.keymap.set('i', '<Tab>', function() vim.api.nvim_put({ '[callback]' }, 'c', false, true) end)
vim.keymap.set('i', '<M-Right>', function() return '[expr]' end, { expr = true })
vim.keymap.set('i', '<C-]>', '[rhs]')
vim.keymap.set('i', '<F9>', '[remapped]')
vim.keymap.set('i', '<M-C-Right>', '<F9>', { remap = true })
"""
    outcome, _log = run_fake(
        nvim, tmp_path, FALLBACK_KEYS, [], {"inline": "extmark"}, before_setup=before
    )
    assert outcome["lines"][ROW] == "    [callback][expr][rhs][remapped]"


POPUP = """
H.run({
  H.step('server ready', 20000, H.ready()),
  H.step('insert', 1000, function() H.insert_at(2, 4); return true end),
  H.step('ghost text', 10000, function(ctx) ctx.ghost = H.ghost(); return ctx.ghost ~= nil end),
  H.step('completion popup', 1000, function() H.feed('<Cmd>call complete(5, ["alpha", "beta"])<CR>'); return true end),
  H.step('popup visible', 5000, function() return vim.fn.pumvisible() == 1 end),
  H.step('tab', 1000, function() H.feed('<Tab>'); return true end),
  H.step('popup item taken', 5000, function(ctx)
    ctx.line = vim.api.nvim_buf_get_lines(0, 1, 2, true)[1]
    return ctx.line ~= '    '
  end),
})
"""


@pytest.mark.parametrize("inline", ["native", "extmark"])
def test_tab_in_the_completion_popup_is_the_popup_s(nvim, tmp_path, inline):
    """With the popup open, <Tab> does what the user's own mapping does there (here: select the next item)."""
    before = """
vim.o.completeopt = 'menuone,noselect'
vim.keymap.set('i', '<Tab>', function() return vim.fn.pumvisible() == 1 and '<C-n>' or '<Tab>' end, { expr = true })
"""
    items = [{"insertText": "return 1"}]
    outcome, _log = run_fake(nvim, tmp_path, POPUP, items, {"inline": inline}, before_setup=before)
    assert outcome["ctx"]["line"] == "    alpha"


STARTING = """
vim.cmd('SmalllspStatus')  -- at once: the client is not up yet
H.run({
  H.step('server ready', 20000, H.ready()),
  H.step(':SmalllspStatus again', 5000, function(ctx)
    if not ctx.asked then ctx.asked = true; vim.cmd('SmalllspStatus') end
    return #ctx.notifications >= 2
  end),
})
"""


def test_status_says_starting_while_the_client_starts(nvim, tmp_path):
    outcome, _log = run_fake(nvim, tmp_path, STARTING, [], {"inline": "extmark"})
    first, second = outcome["ctx"]["notifications"][:2]
    assert first == {
        "message": "smalllsp: starting (the server is not up yet)",
        "level": 2,
    }  # INFO, not ERROR
    assert second["level"] == 2 and second["message"].startswith("smalllsp "), second


HEALTH = """
require('smalllsp').setup(OPTIONS)
vim.cmd('checkhealth smalllsp')
H.ctx.health = vim.api.nvim_buf_get_lines(0, 0, -1, true)
H.run({})
"""


def test_checkhealth_gives_install_advice_that_works_and_names_the_store(nvim, tmp_path):
    """An empty model store: the advice is the configured python's own command, and the store is named."""
    store = tmp_path / "data" / "smalllsp" / "models"
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "SMALLLSP_MODELS": ""}
    outcome = run_nvim(nvim, tmp_path, HEALTH, {"python": sys.executable}, tmp_path, env=env)
    health = "\n".join(outcome["ctx"]["health"])
    assert (
        f"model default is not installed in the model store {store} (from $XDG_DATA_HOME/smalllsp/models)"
        in health
    ), health
    advice = f"{sys.executable} -m smalllsp models install default"
    assert advice in health, health
    # the advice is a command that runs (--help: the install itself would fetch the model)
    run = subprocess.run(
        [*advice.split()[:-1], "--help"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
