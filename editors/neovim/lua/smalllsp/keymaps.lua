--- Buffer-local insert-mode keys. A key does its smalllsp job only when there
--- is something to do (a suggestion drawn on screen to accept, say) and no
--- completion menu is open (the built-in popup, nvim-cmp's or blink.cmp's);
--- otherwise it does what it did before (the mapping it replaced, or the key
--- itself), so <Tab> still indents and still drives the menu.
---
--- The mapping only puts a <Cmd> key in the key's place; that <Cmd> decides.
--- An <expr> mapping cannot: when keys arrive at once (typeahead: a busy
--- editor, a slow link), Vim evaluates it while it still collects the
--- characters typed before the key, which are not in the buffer yet. The
--- <Cmd> runs after them and before the keys that follow, where text may
--- change; when there is nothing to do it feeds what the key did before.
local api = vim.api

local M = {}

local ACTIONS = {
  accept = function(impl, buf) return impl.accept(buf, 'all') end,
  accept_word = function(impl, buf) return impl.accept(buf, 'word') end,
  accept_line = function(impl, buf) return impl.accept(buf, 'line') end,
  next = function(impl, buf) return impl.cycle(buf, 1) end,
  prev = function(impl, buf) return impl.cycle(buf, -1) end,
  dismiss = function(impl, buf) return impl.dismiss(buf) end,
}

--- Completion-menu plugins whose menu the keys give way to: the module and
--- its "is the menu open" function.
local MENUS = { { 'cmp', 'visible' }, { 'blink.cmp', 'is_visible' } }

--- Whether a completion menu is open: the built-in popup menu, or (when the
--- plugin is loaded: never loaded from here) nvim-cmp's or blink.cmp's.
function M.menu_open()
  if vim.fn.pumvisible() == 1 then
    return true
  end
  for _, menu in ipairs(MENUS) do
    local plugin = package.loaded[menu[1]]
    local visible = type(plugin) == 'table' and plugin[menu[2]]
    if type(visible) == 'function' then
      local ok, open = pcall(visible)
      if ok and open then
        return true
      end
    end
  end
  return false
end

---@type table<string, {impl: table, otherwise: fun(): string}>
local jobs = {}

--- Key `name`'s job, run from the <Cmd> key its mapping returned: the
--- smalllsp action when it has something to do now, else the key's own job.
function M._act(buf, name)
  local job = jobs[buf .. ':' .. name]
  if not job then
    return
  end
  if job.impl.can(buf, name) and ACTIONS[name](job.impl, buf) then
    return
  end
  local keys = job.otherwise()
  if keys and keys ~= '' then
    -- at the front of the typeahead: before the keys typed after this one
    api.nvim_feedkeys(api.nvim_replace_termcodes(keys, true, true, true), 'in', false)
  end
end

-- Callbacks of replaced mappings, run through <Cmd> keys: outside the <expr>
-- evaluation (where text is locked) yet in their place among the typed keys.
local replaced = {}

function M._run_replaced(id)
  replaced[id]()
end

--- What the key did before smalllsp mapped it, as a function returning keys
--- (in <> notation) for an <expr> map.
local function fallback(previous, lhs)
  if previous.callback and previous.expr == 1 then
    return previous.callback
  end
  if previous.callback then
    replaced[#replaced + 1] = previous.callback
    local keys = ('<Cmd>lua require("smalllsp.keymaps")._run_replaced(%d)<CR>'):format(#replaced)
    return function()
      return keys
    end
  end
  local rhs = previous.rhs ~= nil and previous.rhs ~= '' and previous.rhs or nil
  if rhs and previous.expr == 1 then
    return function()
      return api.nvim_eval(rhs)
    end
  end
  if rhs and previous.noremap ~= 1 then
    -- a recursive mapping: its keys are mapped again, which keys returned
    -- from this (noremap) mapping would not be; 'i' keeps them in their place
    return function()
      api.nvim_feedkeys(api.nvim_replace_termcodes(rhs, true, true, true), 'mi', false)
      return ''
    end
  end
  return function()
    return rhs or lhs
  end
end

function M.attach(buf, keymaps, impl)
  for name, lhs in pairs(keymaps) do
    if lhs then
      local previous = vim.fn.maparg(lhs, 'i', false, true)
      if previous.desc and previous.desc:find('^smalllsp:') then
        previous = {} -- attached before: keep what was there before that
      end
      local otherwise = fallback(previous, lhs)
      jobs[buf .. ':' .. name] = { impl = impl, otherwise = otherwise }
      local act = ('<Cmd>lua require("smalllsp.keymaps")._act(%d, %q)<CR>'):format(buf, name)
      vim.keymap.set('i', lhs, function()
        if M.menu_open() then
          return otherwise()
        end
        return act
      end, { buffer = buf, expr = true, replace_keycodes = true, silent = true, desc = 'smalllsp: ' .. name })
    end
  end
end

return M
