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
  local accepted = type(status.accepted) == 'table' and status.accepted or nil
  if accepted then
    -- the server's keys: "local" and "cross_file" (its verdicts, "-" as "_")
    parts[#parts + 1] = string.format('accepted: %d local, %d cross-file',
      tonumber(accepted['local']) or 0, tonumber(accepted.cross_file) or 0)
  end
  if type(status.withheld) == 'number' and status.withheld > 0 then
    parts[#parts + 1] = string.format('withheld: %d', status.withheld)
  end
  return table.concat(parts, ' · ')
end

--- The verdict of the suggestion on screen, in full (the label next to the
--- ghost text shows only its first reason, cut to the window).
---@param item? table
---@return string?
function M.shown_verdict(item)
  local verdict = require('smalllsp.verdict')
  local found = verdict.of(item)
  if not found then
    return nil
  end
  if found.verdict ~= 'cross-file' then
    return 'shown suggestion: ' .. found.verdict
  end
  if #found.reasons == 0 then
    return 'shown suggestion: cross-file'
  end
  return 'shown suggestion: cross-file: ' .. table.concat(found.reasons, '; ')
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

--- Whether the plugin will start (or is starting) a client for `bufnr`.
local function will_start(bufnr)
  local cfg = require('smalllsp').config
  return cfg ~= nil and vim.tbl_contains(cfg.filetypes, vim.bo[bufnr].filetype)
end

--- Ask the server for its status; `callback(err, status)`. While the client
--- is still starting (the first second or two), the status is
--- `{ state = "starting" }`, not an error.
function M.request(bufnr, callback)
  local client = lsp.client(bufnr)
  if not client or client.initialized == false then
    if client or will_start(bufnr == 0 and vim.api.nvim_get_current_buf() or bufnr) then
      callback(nil, { state = 'starting' })
    else
      callback('no smalllsp client is running (is the filetype in `filetypes`?)', nil)
    end
    return
  end
  ask(client, bufnr, callback)
end

--- :SmalllspStatus
function M.show()
  local buf = vim.api.nvim_get_current_buf()
  M.request(0, function(err, status)
    if err then
      vim.notify('smalllsp: ' .. err, vim.log.levels.ERROR)
      return
    end
    local line = status.state == 'starting' and 'smalllsp: starting (the server is not up yet)' or M.format(status)
    local impl = require('smalllsp').impl
    local shown = impl and impl.shown_item and M.shown_verdict(impl.shown_item(buf))
    if shown then
      line = line .. '\n' .. shown
    end
    vim.notify(line, vim.log.levels.INFO)
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
