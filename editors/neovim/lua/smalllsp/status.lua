--- What the server says about itself (the smalllsp/status request) and what
--- it is doing now ($/progress: loading the model, indexing the workspace),
--- as one line for :SmalllspStatus and for a statusline.
local lsp = require('smalllsp.lsp')

local M = {}

M.REQUEST = 'smalllsp/status'

---@type table<integer, {token: any, title: string}[]> client id -> work in progress, oldest first
local progress = {}
---@type table<integer, string?> client id -> last known state
local states = {}

--- One line from a smalllsp/status answer.
---@param status table
---@return string
function M.format(status)
  local parts = { 'smalllsp ' .. (status.version or '?') .. ': ' .. tostring(status.state) }
  if type(status.error) == 'string' and status.error ~= '' then
    parts[#parts + 1] = status.error
  end
  if type(status.model) == 'string' then
    parts[#parts + 1] = string.format('%s on %s', status.model, tostring(status.device))
  end
  if type(status.load_seconds) == 'number' then
    parts[#parts + 1] = string.format('loaded in %.2f s', status.load_seconds)
  end
  if type(status.last_latency_ms) == 'number' then
    parts[#parts + 1] = string.format('last completion %d ms', math.floor(status.last_latency_ms + 0.5))
  end
  return table.concat(parts, ' · ')
end

local function ask(client, bufnr, callback)
  local ok = lsp.request(client, M.REQUEST, vim.empty_dict(), function(err, result)
    if err then
      callback(err.message or vim.inspect(err), nil)
      return
    end
    states[client.id] = result.state
    callback(nil, result)
  end, bufnr)
  if not ok then
    callback('the smalllsp client has stopped', nil)
  end
end

--- Ask the server for its status; `callback(err, status)`.
function M.request(bufnr, callback)
  local client = lsp.client(bufnr)
  if not client then
    callback('no smalllsp client is running (is the filetype in `filetypes`?)', nil)
    return
  end
  ask(client, bufnr, callback)
end

--- :SmalllspStatus
function M.show()
  M.request(0, function(err, status)
    if err then
      vim.notify('smalllsp: ' .. err, vim.log.levels.ERROR)
    else
      vim.notify(M.format(status), vim.log.levels.INFO)
    end
  end)
end

--- LspProgress autocmd: remember what the smalllsp client is doing.
function M.on_progress(ev)
  local client = vim.lsp.get_client_by_id(ev.data.client_id)
  if not client or client.name ~= lsp.NAME then
    return
  end
  local params = ev.data.params or {}
  local value = params.value or {}
  local works = progress[client.id] or {}
  progress[client.id] = works
  if value.kind == 'begin' then
    table.insert(works, { token = params.token, title = value.title or '' })
  elseif value.kind == 'end' then
    for i, work in ipairs(works) do
      if work.token == params.token then
        table.remove(works, i)
        break
      end
    end
    if #works == 0 then
      -- the model loaded (or failed): learn which, for the statusline
      ask(client, nil, function(err)
        if err then
          vim.lsp.log.warn('smalllsp: status after progress: ' .. err)
        end
        vim.cmd.redrawstatus()
      end)
    end
  end
  vim.cmd.redrawstatus()
end

--- A statusline component: the work in progress ("smalllsp: loading model,
--- indexing workspace…"), else the last known state ("smalllsp: ready").
function M.statusline()
  local client = lsp.client(0)
  if not client then
    return ''
  end
  local titles = {}
  for _, work in ipairs(progress[client.id] or {}) do
    titles[#titles + 1] = (work.title:gsub('^smalllsp: ', ''))
  end
  if #titles > 0 then
    return 'smalllsp: ' .. table.concat(titles, ', ') .. '…'
  end
  return 'smalllsp: ' .. (states[client.id] or 'starting')
end

return M
