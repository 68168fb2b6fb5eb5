--- smalllsp for Neovim: starts the smalllsp language server, shows its
--- suggestions as ghost text (0.12's own inline completion, or extmarks
--- drawn by this plugin on 0.10 and 0.11) and maps the keys to take them.
---
--- require("smalllsp").setup({ settings = { max_lines = 6 } })
local api = vim.api
local config = require('smalllsp.config')
local keymaps = require('smalllsp.keymaps')
local lsp = require('smalllsp.lsp')
local status = require('smalllsp.status')

local M = {}

---@type table? the resolved options, once setup() ran
M.config = nil
M.impl = nil

local function settings_object(settings)
  return next(settings) and settings or vim.empty_dict()
end

--- The vim.lsp client configuration (shared by both ways of starting it).
function M.client_config(cfg, impl)
  return {
    name = lsp.NAME,
    cmd = cfg.cmd,
    filetypes = cfg.filetypes,
    root_markers = cfg.root_markers,
    -- settings travel both ways the server reads them: at start-up, and
    -- answered from here for workspace/configuration (section "smalllsp")
    init_options = settings_object(cfg.settings),
    settings = next(cfg.settings) and { smalllsp = cfg.settings } or nil,
    capabilities = impl.capabilities(),
  }
end

--- A group that looks like `source` (its colours resolved, not linked) and
--- stays visible without 'termguicolors': Neovim's default colour scheme
--- gives Comment and NonText no cterm colour, so they would draw ghost text
--- like real text in a 16/256-colour terminal. Then cterm colour 8 (grey).
local function dim_like(source)
  local ok, hl = pcall(api.nvim_get_hl, 0, { name = source, link = false })
  hl = ok and hl or {}
  return {
    fg = hl.fg, bg = hl.bg, italic = hl.italic,
    ctermfg = hl.ctermfg or 8, ctermbg = hl.ctermbg, cterm = hl.cterm,
    default = true,
  }
end

local function highlights()
  local ghost = vim.fn.hlexists('ComplHint') == 1 and 'ComplHint' or 'Comment'
  api.nvim_set_hl(0, 'SmalllspGhost', dim_like(ghost))
  api.nvim_set_hl(0, 'SmalllspHint', dim_like('Comment'))
  api.nvim_set_hl(0, 'SmalllspCrossFile', { link = 'DiagnosticWarn', default = true })
end

local function start_with_vim_lsp_start(group, client_config, cfg)
  local function start(buf)
    local root = vim.fs.root(buf, cfg.root_markers) or vim.fn.getcwd()
    local start_config = vim.tbl_extend('force', client_config, { root_dir = root })
    start_config.filetypes, start_config.root_markers = nil, nil -- vim.lsp.config fields, not vim.lsp.start's
    vim.lsp.start(start_config, { bufnr = buf })
  end
  api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = cfg.filetypes,
    callback = function(ev)
      start(ev.buf)
    end,
  })
  for _, buf in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(buf) and vim.tbl_contains(cfg.filetypes, vim.bo[buf].filetype) then
      start(buf)
    end
  end
end

--- Start the server for the configured filetypes and wire ghost text and keys.
---@param opts? table see :help smalllsp-setup
function M.setup(opts)
  local cfg = config.resolve(opts)
  M.config = cfg
  M.impl = require(cfg.inline == 'native' and 'smalllsp.native' or 'smalllsp.ghost')
  M.impl.setup(cfg)
  highlights()

  local group = api.nvim_create_augroup('smalllsp', { clear = true })
  api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == lsp.NAME then
        M.impl.attach(ev.buf, client)
        keymaps.attach(ev.buf, cfg.keymaps, M.impl)
      end
    end,
  })
  api.nvim_create_autocmd('LspProgress', { group = group, callback = status.on_progress })
  api.nvim_create_autocmd('ColorScheme', { group = group, callback = highlights })
  api.nvim_create_user_command('SmalllspStatus', status.show, { desc = 'smalllsp: model, device, last latency' })

  local client_config = M.client_config(cfg, M.impl)
  if cfg.lsp_start == 'enable' then
    vim.lsp.config(lsp.NAME, client_config)
    vim.lsp.enable(lsp.NAME)
  else
    start_with_vim_lsp_start(group, client_config, cfg)
  end
end

--- Change server settings while it runs (workspace/didChangeConfiguration).
---@param settings table setting name -> value, as `smalllsp settings` lists them
function M.update_settings(settings)
  assert(M.config, 'smalllsp: call setup() first')
  M.config.settings = vim.tbl_extend('force', M.config.settings, settings)
  for _, client in ipairs(vim.lsp.get_clients({ name = lsp.NAME })) do
    client.settings = { smalllsp = M.config.settings }
    lsp.notify(client, 'workspace/didChangeConfiguration', { settings = client.settings })
  end
end

local function current_impl()
  assert(M.impl, 'smalllsp: call setup() first')
  return M.impl
end

--- Run accept of `kind` now, or just after when called where text cannot
--- change (an <expr> mapping); false when no suggestion is drawn.
local function accept(kind)
  local impl, buf = current_impl(), api.nvim_get_current_buf()
  if not impl.can(buf, 'accept') then
    return false
  end
  local ok, done = pcall(impl.accept, buf, kind)
  if ok then
    return done
  end
  if not tostring(done):find('E565') and not tostring(done):find('textlock') then
    error(done, 0)
  end
  vim.schedule(function()
    impl.accept(buf, kind)
  end)
  return true
end

--- Accept the shown suggestion; false when there is none.
function M.accept()
  return accept('all')
end

function M.accept_word()
  return accept('word')
end

function M.accept_line()
  return accept('line')
end

function M.next()
  return current_impl().cycle(api.nvim_get_current_buf(), 1)
end

function M.prev()
  return current_impl().cycle(api.nvim_get_current_buf(), -1)
end

function M.dismiss()
  return current_impl().dismiss(api.nvim_get_current_buf())
end

M.statusline = status.statusline
M.status = status.show

return M
