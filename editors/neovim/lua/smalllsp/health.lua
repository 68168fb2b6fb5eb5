--- :checkhealth smalllsp: Neovim version, the server command, its version,
--- the model, and the running server's own status.
local M = {}

local health = vim.health

--- The server command without its trailing "serve": the base for other subcommands.
local function base_command(cmd)
  if cmd[#cmd] ~= 'serve' then
    return nil
  end
  return vim.list_slice(cmd, 1, #cmd - 1)
end

local function run(command)
  local ok, process = pcall(vim.system, command, { text = true })
  if not ok then
    return nil, tostring(process)
  end
  local result = process:wait(30000)
  if result.code ~= 0 then
    return nil, vim.trim((result.stderr or '') .. (result.stdout or '')) .. string.format(' (exit %d)', result.code)
  end
  return vim.trim(result.stdout or ''), nil
end

--- Where the server looks for models: $SMALLLSP_MODELS, else
--- $XDG_DATA_HOME/smalllsp/models (the server inherits this environment).
local function store_hint()
  if (vim.env.SMALLLSP_MODELS or '') ~= '' then
    return '$SMALLLSP_MODELS'
  end
  return (vim.env.XDG_DATA_HOME or '') ~= '' and '$XDG_DATA_HOME/smalllsp/models' or '~/.local/share/smalllsp/models'
end

local function check_model(base, settings)
  local model = settings.model
  if type(model) == 'string' and (model:find('/') or model:find('%.gguf$')) then
    if vim.fn.filereadable(vim.fn.expand(model)) == 1 then
      health.ok('model file found: ' .. model)
    else
      health.error('model file not found: ' .. model, { 'fix the `model` setting, or leave it empty for the default model' })
    end
    return
  end
  local name = (type(model) == 'string' and model ~= '') and model or 'default'
  local install = table.concat(base, ' ') .. ' models install ' .. name
  local listing, err = run(vim.list_extend(vim.deepcopy(base), { 'models', 'list', '--json' }))
  local ok, entries = pcall(vim.json.decode, listing or '')
  if not listing or not ok or type(entries) ~= 'table' then
    health.error('cannot list the models: ' .. (err or 'the answer is not JSON'))
    return
  end
  local entry
  for _, candidate in ipairs(entries) do
    if candidate.name == name or vim.tbl_contains(candidate.aliases or {}, name) then
      entry = candidate
    end
  end
  if not entry then
    health.error('model ' .. name .. ' is not in the catalog', { table.concat(base, ' ') .. ' models list' })
    return
  end
  local store = vim.fs.dirname(entry.path)
  if entry.installed and vim.fn.filereadable(entry.path) == 1 then
    health.ok(string.format('model %s found: %s (%.0f MB)', name, entry.path, vim.fn.getfsize(entry.path) / 1e6))
  else
    health.error(string.format('model %s is not installed in the model store %s (from %s)', name, store, store_hint()), {
      install,
      'or point SMALLLSP_MODELS at the store that has it (the store follows XDG_DATA_HOME)',
    })
  end
end

function M.check()
  health.start('smalllsp')
  if vim.fn.has('nvim-0.10') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim 0.10 or newer is needed, this is ' .. tostring(vim.version()))
  end
  local smalllsp = require('smalllsp')
  local cfg = smalllsp.config
  if not cfg then
    health.warn('require("smalllsp").setup() has not been called', { 'call it from your init.lua' })
    cfg = require('smalllsp.config').resolve({})
  else
    health.info(string.format('ghost text: %s; client started with %s', cfg.inline == 'native'
      and 'native vim.lsp.inline_completion' or 'extmarks (plugin)', cfg.lsp_start == 'enable'
      and 'vim.lsp.enable' or 'vim.lsp.start'))
  end

  local executable = cfg.cmd[1]
  if vim.fn.executable(executable) == 1 then
    health.ok('server command found: ' .. table.concat(cfg.cmd, ' '))
  else
    health.error('server command not found: ' .. executable, {
      'install smalllsp (`pip install -e .` in its checkout), or set `python` / `cmd` in setup()',
    })
    return
  end
  local base = base_command(cfg.cmd)
  if not base then
    health.info('`cmd` does not end with "serve": version and model not checked')
    return
  end
  local version, err = run(vim.list_extend(vim.deepcopy(base), { '--version' }))
  if version then
    health.ok('server version: ' .. version)
  else
    health.error('the server does not start: ' .. err)
    return
  end
  check_model(base, cfg.settings)

  local client = require('smalllsp.lsp').client(0)
  if not client then
    health.info('no smalllsp client is running now (open a file of one of: ' .. table.concat(cfg.filetypes, ', ') .. ')')
    return
  end
  local answer
  if vim.fn.has('nvim-0.11') == 1 then
    answer = client:request_sync('smalllsp/status', {}, 3000, 0)
  else
    answer = client.request_sync('smalllsp/status', {}, 3000, 0)
  end
  if answer and answer.result then
    local line = require('smalllsp.status').format(answer.result)
    if answer.result.state == 'failed' then
      health.error(line)
    else
      health.ok(line)
    end
  else
    health.warn('the running server did not answer smalllsp/status: ' .. vim.inspect(answer and answer.err))
  end
end

return M
