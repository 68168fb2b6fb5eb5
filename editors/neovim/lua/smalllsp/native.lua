--- Neovim 0.12's own inline completion (vim.lsp.inline_completion), plus what
--- it lacks: accept a word or a line, dismiss, and the cross-file verdict.
--- 0.12 keeps the answer to itself, so the plugin watches the answers to its
--- own client's inlineCompletion requests (and no other client's) to draw the
--- verdict next to the ghost text.
local api = vim.api
local lsp = require('smalllsp.lsp')
local text = require('smalllsp.text')
local verdict = require('smalllsp.verdict')

local M = {}

M.namespace = api.nvim_create_namespace('smalllsp.verdict')
-- the namespace 0.12 draws its ghost text in (namespaces are looked up by name)
local GHOST = api.nvim_create_namespace('nvim.lsp.inline_completion')
local METHOD = 'textDocument/inlineCompletion'

local config = { verdict = true }
---@type table<integer, true>
local watched = {}
---@type table<integer, {items: table[], index: integer}>
local answers = {}

function M.setup(cfg)
  config = cfg
end

--- 0.12 advertises inline completion itself.
function M.capabilities()
  return nil
end

local function clear_verdict(buf)
  if api.nvim_buf_is_valid(buf) then
    api.nvim_buf_clear_namespace(buf, M.namespace, 0, -1)
  end
end

--- The verdict label after the first line of the ghost text 0.12 shows.
local function draw_verdict(buf)
  clear_verdict(buf)
  local answer = answers[buf]
  local item = answer and answer.items[answer.index]
  local label = config.verdict and verdict.label(verdict.of(item))
  if not label then
    return
  end
  local marks = api.nvim_buf_get_extmarks(buf, GHOST, 0, -1, { details = true, limit = 1 })
  if #marks == 0 then
    return -- nothing on screen (the answer was stale)
  end
  local row, col, details = marks[1][2], marks[1][3], marks[1][4]
  local ghost_width = 0
  for _, chunk in ipairs(details.virt_text or {}) do
    ghost_width = ghost_width + vim.fn.strdisplaywidth(chunk[1])
  end
  local line = api.nvim_buf_get_lines(buf, row, row + 1, true)[1]
  local ends = math.max(vim.fn.strdisplaywidth(line), vim.fn.strdisplaywidth(line:sub(1, col)) + ghost_width)
  local info = vim.fn.getwininfo(api.nvim_get_current_win())[1]
  local width = math.max(24, info.width - info.textoff - ends - 3)
  api.nvim_buf_set_extmark(buf, M.namespace, row, 0, {
    virt_text = { { '  ' .. verdict.fit(label, width), 'SmalllspCrossFile' } },
    virt_text_win_col = ends,
    hl_mode = 'combine',
  })
end

local function on_answer(buf, result, client_id)
  local items = result.items or result
  answers[buf] = { items = items, index = 1, client_id = client_id }
  draw_verdict(buf)
end

local function ghost_drawn(buf)
  return #api.nvim_buf_get_extmarks(buf, GHOST, 0, -1, { limit = 1 }) > 0
end

--- The current item's rest at the cursor, measured against the line as it is
--- now: nil when the cursor left its line or went before its start, or when
--- what was typed since does not match it.
---@return string? rest, table? item
local function rest_now(buf)
  local answer = answers[buf]
  local item = answer and answer.items[answer.index]
  local client = answer and vim.lsp.get_client_by_id(answer.client_id)
  if not item or not client or api.nvim_get_current_buf() ~= buf then
    return nil
  end
  local insert = text.insert_text(item.insertText)
  local pos = api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  local line = api.nvim_buf_get_lines(buf, row, row + 1, true)[1]
  local start_col = col
  if item.range then
    if item.range.start.line ~= row then
      return nil
    end
    start_col = text.byte_col(line, item.range.start.character, client.offset_encoding)
    if item.range.start.character > 0 and start_col == #line and #line < item.range.start.character then
      return nil -- the line shrank under the item's start
    end
  end
  if start_col > col then
    return nil
  end
  local typed = line:sub(start_col + 1, col)
  if insert:sub(1, #typed) ~= typed or #insert == #typed then
    return nil
  end
  return insert:sub(#typed + 1), item
end

--- Drop 0.12's current item (it has no public dismiss): cancel this buffer's
--- pending requests and restart its inline completion.
local function drop_native(buf)
  for _, client in ipairs(vim.lsp.get_clients({ bufnr = buf })) do
    for id, req in pairs(client.requests or {}) do
      if req.method == METHOD and req.bufnr == buf and req.type == 'pending' then
        lsp.cancel(client, id)
      end
    end
  end
  api.nvim_buf_clear_namespace(buf, GHOST, 0, -1)
  vim.lsp.inline_completion.enable(false, { bufnr = buf })
  vim.lsp.inline_completion.enable(true, { bufnr = buf })
  answers[buf] = nil
  clear_verdict(buf)
end

--- Watch the answers to this client's inline completion requests.
local function watch(client)
  if watched[client.id] then
    return
  end
  watched[client.id] = true
  local request = client.request
  client.request = function(self, method, params, handler, bufnr)
    if method == METHOD and type(handler) == 'function' then
      local inner = handler
      handler = function(err, result, ctx)
        inner(err, result, ctx)
        if not err and type(result) == 'table' and ctx and ctx.bufnr then
          on_answer(ctx.bufnr, result, ctx.client_id)
        end
      end
    end
    return request(self, method, params, handler, bufnr)
  end
end

function M.attach(buf, client)
  watch(client)
  -- Defined before 0.12's own autocmds (enable() below creates them), so this
  -- runs first: an item that no longer fits the line (typed past, a
  -- mismatching character, Backspace before its start, Enter) is dropped
  -- before 0.12 redraws it (a stale, shifted ghost, or neovim#35971's
  -- "Invalid 'col': out of range" when the line shrank under it).
  local group = api.nvim_create_augroup('smalllsp.native.' .. buf, { clear = true })
  api.nvim_create_autocmd({ 'CursorMovedI', 'TextChangedI' }, {
    group = group,
    buffer = buf,
    callback = function()
      if answers[buf] and not rest_now(buf) then
        drop_native(buf)
      end
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufUnload' }, {
    group = group,
    buffer = buf,
    callback = function(ev)
      answers[buf] = nil
      clear_verdict(buf)
      if ev.event == 'BufUnload' then
        api.nvim_del_augroup_by_id(group)
      end
    end,
  })
  vim.lsp.inline_completion.enable(true, { bufnr = buf })
end

--- The LSP item of the suggestion on screen in `buf`, if any.
function M.shown_item(buf)
  local answer = answers[buf]
  return answer and ghost_drawn(buf) and answer.items[answer.index] or nil
end

--- Whether key `action` has something to do now: a ghost 0.12 really drew,
--- whose item still fits the line as it is now.
function M.can(buf, action)
  if not ghost_drawn(buf) or not rest_now(buf) then
    return false
  end
  if action == 'next' or action == 'prev' then
    return #answers[buf].items > 0
  end
  return true
end

--- Insert the current item's rest (or its next word or line) at the cursor,
--- measured against the line now, so text typed since the request is never
--- inserted twice (0.12-dev's own accept does that: neovim#36529). The
--- plugin inserts it itself for every kind and then drops 0.12's item.
---@param kind "all"|"word"|"line"
function M.accept(buf, kind)
  local rest, item = rest_now(buf)
  if not rest or not ghost_drawn(buf) then
    return false
  end
  local client_id = answers[buf].client_id
  local piece = text.piece(rest, kind)
  local lines = vim.split(piece, '\n', { plain = true })
  local pos = api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  drop_native(buf)
  api.nvim_buf_set_text(buf, row, col, row, col, lines)
  api.nvim_win_set_cursor(0, { row + #lines, (#lines == 1 and col or 0) + #lines[#lines] })
  local client = vim.lsp.get_client_by_id(client_id)
  if piece == rest and client and item.command then
    lsp.exec_cmd(client, item.command, buf)
  end
  return true
end

function M.cycle(buf, step)
  local answer = answers[buf]
  if not answer or #answer.items == 0 or not ghost_drawn(buf) then
    return false
  end
  vim.lsp.inline_completion.select({ bufnr = buf, count = step })
  answer.index = (answer.index - 1 + step) % #answer.items + 1
  draw_verdict(buf)
  return true
end

--- Hide the ghost and stop what is pending; false when nothing was shown.
function M.dismiss(buf)
  if not ghost_drawn(buf) then
    return false
  end
  drop_native(buf)
  return true
end

return M
