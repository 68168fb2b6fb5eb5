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
  local path, err = run(vim.list_extend(vim.deepcopy(base), { 'models', 'path', name }))
  if not path then
    health.error('cannot locate model ' .. name .. ': ' .. err)
  elseif vim.fn.filereadable(path) == 1 then
    health.ok(string.format('model %s found: %s (%.0f MB)', name, path, vim.fn.getfsize(path) / 1e6))
  else
    health.error('model ' .. name .. ' is not installed (expected at ' .. path .. ')', {
      table.concat(base, ' ') .. ' models install ' .. name,
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
