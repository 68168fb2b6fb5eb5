--- The few client calls whose form changed between Neovim 0.10 (functions on
--- the client table) and 0.11+ (methods), and how the plugin finds its client.
local M = {}

M.NAME = 'smalllsp'
M.REQUEST_CANCELLED = -32800
M.CONTENT_MODIFIED = -32801

local methods = vim.fn.has('nvim-0.11') == 1

---@return boolean ok, integer? request_id
function M.request(client, method, params, handler, bufnr)
  if methods then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.cancel(client, request_id)
  if methods then
    client:cancel_request(request_id)
  else
    client.cancel_request(request_id)
  end
end

function M.notify(client, method, params)
  if methods then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

--- Run an item's command on the server (workspace/executeCommand).
function M.exec_cmd(client, command, bufnr)
  if methods then
    client:exec_cmd(command, { bufnr = bufnr })
    return
  end
  M.request(client, 'workspace/executeCommand', { command = command.command, arguments = command.arguments }, function(err)
    if err then
      M.report('executeCommand ' .. command.command, err)
    end
  end, bufnr)
end

--- The smalllsp client attached to `bufnr` (0: current), or else any running one.
function M.client(bufnr)
  local clients = vim.lsp.get_clients({ name = M.NAME, bufnr = bufnr or 0 })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = M.NAME })
  end
  return clients[1]
end

--- An error answer from the server: written to the LSP log, and shown once.
function M.report(what, err)
  local message = string.format('smalllsp: %s failed: %s', what, err.message or vim.inspect(err))
  vim.lsp.log.error(message)
  vim.notify_once(message, vim.log.levels.WARN)
end

return M
