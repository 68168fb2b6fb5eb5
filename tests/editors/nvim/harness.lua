-- Drives a headless Neovim through a scenario for tests/editors/test_neovim.py.
--
-- A scenario is a list of steps; each step is polled from a vim.defer_fn
-- timer (never a blocking vim.wait, so keys fed with nvim_feedkeys are
-- processed by the main loop in between) until it returns true or its
-- timeout runs out. The outcome is written as JSON to $SMALLLSP_TEST_RESULT.
local api = vim.api
local H = {}

local result_path = assert(os.getenv('SMALLLSP_TEST_RESULT'), 'SMALLLSP_TEST_RESULT is not set')
local POLL_MS = 50

H.ctx = { notifications = {}, step_ms = {} }

-- keep what the plugin and Neovim tell the user, for the assertions
local notify = vim.notify
vim.notify = function(message, level, opts)
  table.insert(H.ctx.notifications, { message = message, level = level })
  return notify(message, level, opts)
end

-- keep the work-done progress the server reports, and the plugin's statusline meanwhile
H.ctx.progress = {}
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(ev)
    local value = ev.data.params and ev.data.params.value or {}
    vim.schedule(function()
      local ok, line = pcall(function() return require('smalllsp').statusline() end)
      table.insert(H.ctx.progress, { kind = value.kind, title = value.title, statusline = ok and line or nil })
    end)
  end,
})

local function finish(outcome)
  outcome.ctx = H.ctx
  outcome.lines = api.nvim_buf_get_lines(0, 0, -1, true)
  outcome.mode = api.nvim_get_mode().mode
  local file = assert(io.open(result_path, 'w'))
  file:write(vim.json.encode(outcome))
  file:close()
  vim.cmd('qall!')
end

--- A step: `poll(ctx)` returns true when done; it fails after `timeout_ms`.
function H.step(name, timeout_ms, poll)
  return { name = name, timeout_ms = timeout_ms, poll = poll }
end

function H.run(steps)
  local index, started = 1, vim.uv.now()
  local function tick()
    local step = steps[index]
    if not step then
      finish({ ok = true })
      return
    end
    local ok, done = xpcall(step.poll, debug.traceback, H.ctx)
    if not ok then
      finish({ ok = false, step = step.name, error = done })
      return
    end
    if done then
      table.insert(H.ctx.step_ms, { step.name, vim.uv.now() - started })
      index, started = index + 1, vim.uv.now()
      vim.defer_fn(tick, 0)
    elseif vim.uv.now() - started > step.timeout_ms then
      finish({ ok = false, step = step.name, error = 'timed out after ' .. step.timeout_ms .. ' ms' })
    else
      vim.defer_fn(tick, POLL_MS)
    end
  end
  vim.defer_fn(tick, 0)
end

function H.client()
  return vim.lsp.get_clients({ name = 'smalllsp', bufnr = 0 })[1]
end

--- A step that polls smalllsp/status until `done(status)` holds (fails at once if the model failed).
function H.status_until(done)
  local pending, answer = false, nil
  return function(ctx)
    if answer then
      ctx.status, answer = answer, nil
      if done(ctx.status) then
        return true
      end
      if ctx.status.state == 'failed' then
        error('the model failed to load: ' .. vim.inspect(ctx.status))
      end
    end
    local client = H.client()
    if client and not pending then
      pending = true
      client:request('smalllsp/status', vim.empty_dict(), function(err, result)
        pending = false
        if err then
          error('smalllsp/status failed: ' .. vim.inspect(err))
        end
        answer = result
      end, 0)
    end
    return false
  end
end

--- A step that waits for the model to be loaded.
function H.ready()
  return H.status_until(function(status)
    return status.state == 'ready'
  end)
end

--- Acceptances the server counted, all verdicts together, and the local ones.
function H.accepted(status)
  local total = 0
  for _, count in pairs(status.accepted or {}) do
    total = total + count
  end
  return total, (status.accepted or {})['local'] or 0
end

--- Put the cursor at (1-based row, 0-based byte col) in insert mode.
function H.insert_at(row, col)
  api.nvim_win_set_cursor(0, { row, col })
  local line = api.nvim_buf_get_lines(0, row - 1, row, true)[1]
  -- 'a' after the character before the cursor, 'i' at the start of a line
  local keys = col == 0 and 'i' or (col >= #line and 'A' or 'a')
  if col > 0 and col < #line then
    api.nvim_win_set_cursor(0, { row, col - 1 })
  end
  api.nvim_feedkeys(keys, 'n', false)
end

--- Feed keys as if typed (mappings apply).
function H.feed(keys)
  api.nvim_feedkeys(api.nvim_replace_termcodes(keys, true, true, true), 'mt', false)
end

local GHOST_NAMESPACES = { 'nvim.lsp.inline_completion', 'smalllsp.ghost' }
local GHOST_GROUPS = { ComplHint = true, SmalllspGhost = true }

--- The ghost text on screen: {namespace, row, col, text, extra}, or nil.
function H.ghost()
  for _, name in ipairs(GHOST_NAMESPACES) do
    local ns = api.nvim_create_namespace(name)
    local marks = api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
    if #marks > 0 then
      local mark = marks[1]
      local first, extra = {}, {}
      for _, chunk in ipairs(mark[4].virt_text or {}) do
        if GHOST_GROUPS[chunk[2]] then
          table.insert(first, chunk[1])
        else
          table.insert(extra, chunk[1])
        end
      end
      local lines = { table.concat(first) }
      for _, virt_line in ipairs(mark[4].virt_lines or {}) do
        local parts = {}
        for _, chunk in ipairs(virt_line) do
          table.insert(parts, chunk[1])
        end
        table.insert(lines, table.concat(parts))
      end
      return { namespace = name, row = mark[2], col = mark[3], text = table.concat(lines, '\n'), extra = extra }
    end
  end
  return nil
end

--- The verdict label on screen: a SmalllspCrossFile chunk in any extmark.
function H.verdict_label()
  for _, ns in pairs(api.nvim_get_namespaces()) do
    for _, mark in ipairs(api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
      for _, chunk in ipairs(mark[4].virt_text or {}) do
        if chunk[2] == 'SmalllspCrossFile' then
          return vim.trim(chunk[1])
        end
      end
    end
  end
  return nil
end

function H.cursor()
  local pos = api.nvim_win_get_cursor(0)
  return { pos[1] - 1, pos[2] }
end

return H
