--- The plugin's options: defaults, and checks that turn a bad option into a
--- clear error at setup() instead of a silent misbehaviour later.
local M = {}

M.KEYMAPS = { 'accept', 'accept_word', 'accept_line', 'next', 'prev', 'dismiss' }

M.defaults = {
  -- Command that starts the server; nil: `<python> -m smalllsp serve` when
  -- `python` is set, else the `smalllsp` executable on $PATH.
  cmd = nil,
  python = nil,
  -- The languages the server has specs for (languages.lua is generated from them).
  filetypes = require('smalllsp.languages'),
  root_markers = { '.git', 'pyproject.toml', 'package.json', 'go.mod', 'Cargo.toml', 'pom.xml' },
  -- Server settings, by the names `smalllsp settings` prints.
  settings = {},
  -- Ghost text: "auto" (the plugin's own extmarks, on every version),
  -- "native" (0.12's vim.lsp.inline_completion, with the plugin's accept), or
  -- "extmark".
  inline = 'auto',
  -- How the client starts: "auto" (vim.lsp.config/enable on 0.11+,
  -- vim.lsp.start before), "enable" or "start".
  lsp_start = 'auto',
  -- Extmark path only: the pause in typing before a request.
  debounce_ms = 150,
  -- Show "⚠ cross-file: <reason>" next to a flagged suggestion.
  verdict = true,
  -- Insert-mode keys; false leaves one unmapped.
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-C-Right>',
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
  },
}

local KNOWN = {
  cmd = true, python = true, filetypes = true, root_markers = true, settings = true, inline = true,
  lsp_start = true, debounce_ms = true, verdict = true, keymaps = true,
}

local function fail(message)
  error('smalllsp.setup: ' .. message, 0)
end

local function expect(name, value, kind)
  if type(value) ~= kind then
    fail(string.format('option %s must be a %s, got %s', name, kind, vim.inspect(value)))
  end
end

local function expect_list_of_strings(name, value)
  expect(name, value, 'table')
  for index, item in ipairs(value) do
    expect(string.format('%s[%d]', name, index), item, 'string')
  end
  if #value ~= vim.tbl_count(value) then
    fail(string.format('option %s must be a list, got %s', name, vim.inspect(value)))
  end
end

local function expect_choice(name, value, choices)
  if not vim.tbl_contains(choices, value) then
    fail(string.format('option %s must be one of %s, got %s', name, table.concat(choices, ', '), vim.inspect(value)))
  end
end

--- The command that starts the server when the user gave none.
function M.default_cmd(python)
  if python then
    return { python, '-m', 'smalllsp', 'serve' }
  end
  local found = vim.fn.exepath('smalllsp')
  return { found ~= '' and found or 'smalllsp', 'serve' }
end

--- Whether this Neovim has the native inline completion (0.12+).
function M.has_native_inline()
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.get ~= nil
end

--- Whether this Neovim has vim.lsp.config / vim.lsp.enable (0.11+).
function M.has_lsp_enable()
  return vim.lsp.config ~= nil and vim.lsp.enable ~= nil
end

--- Defaults merged with `opts`, checked; raises an error naming the bad option.
---@param opts? table
---@return table
function M.resolve(opts)
  if opts == nil then
    opts = {}
  end
  expect('opts', opts, 'table')
  for key in pairs(opts) do
    if not KNOWN[key] then
      local names = vim.tbl_keys(KNOWN)
      table.sort(names)
      fail(string.format('unknown option %s (known: %s)', vim.inspect(key), table.concat(names, ', ')))
    end
  end
  local cfg = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  -- lists replace the default, they do not merge with it
  for _, key in ipairs({ 'filetypes', 'root_markers', 'cmd' }) do
    if opts[key] ~= nil then
      cfg[key] = opts[key]
    end
  end

  if cfg.python ~= nil then
    expect('python', cfg.python, 'string')
  end
  if cfg.cmd ~= nil then
    expect_list_of_strings('cmd', cfg.cmd)
    if #cfg.cmd == 0 then
      fail('option cmd must not be empty')
    end
  else
    cfg.cmd = M.default_cmd(cfg.python)
  end
  expect_list_of_strings('filetypes', cfg.filetypes)
  expect_list_of_strings('root_markers', cfg.root_markers)
  expect('settings', cfg.settings, 'table')
  for name in pairs(cfg.settings) do
    expect('settings key', name, 'string')
  end
  expect_choice('inline', cfg.inline, { 'auto', 'native', 'extmark' })
  if cfg.inline == 'auto' then
    -- Not 0.12's own path even where it exists: the 0.12 pre-release builds
    -- insert typed text twice on accept (neovim#36529) and raise "Invalid
    -- 'col'" in CursorMovedI when the line shrinks under a ghost
    -- (neovim#35971), and no capability tells a fixed build from one of
    -- those without typing into it. The extmark path behaves the same on all.
    cfg.inline = 'extmark'
  elseif cfg.inline == 'native' and not M.has_native_inline() then
    fail('inline = "native" needs Neovim 0.12 (vim.lsp.inline_completion); use "auto" or "extmark"')
  end
  expect_choice('lsp_start', cfg.lsp_start, { 'auto', 'enable', 'start' })
  if cfg.lsp_start == 'auto' then
    cfg.lsp_start = M.has_lsp_enable() and 'enable' or 'start'
  elseif cfg.lsp_start == 'enable' and not M.has_lsp_enable() then
    fail('lsp_start = "enable" needs Neovim 0.11 (vim.lsp.config); use "auto" or "start"')
  end
  expect('debounce_ms', cfg.debounce_ms, 'number')
  if cfg.debounce_ms < 0 then
    fail('option debounce_ms must be >= 0, got ' .. cfg.debounce_ms)
  end
  expect('verdict', cfg.verdict, 'boolean')
  expect('keymaps', cfg.keymaps, 'table')
  for name, lhs in pairs(cfg.keymaps) do
    if not vim.tbl_contains(M.KEYMAPS, name) then
      fail(string.format('unknown keymap %s (known: %s)', vim.inspect(name), table.concat(M.KEYMAPS, ', ')))
    end
    if lhs ~= false and (type(lhs) ~= 'string' or lhs == '') then
      fail(string.format('keymaps.%s must be a key (string) or false, got %s', name, vim.inspect(lhs)))
    end
  end
  return cfg
end

return M
