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
  api.nvim_buf_set_extmark(buf, M.namespace, row, 0, {
    virt_text = { { '  ' .. label, 'SmalllspCrossFile' } },
    virt_text_win_col = ends,
    hl_mode = 'combine',
  })
end

local function on_answer(buf, result)
  local items = result.items or result
  answers[buf] = { items = items, index = 1 }
  draw_verdict(buf)
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
          on_answer(ctx.bufnr, result)
        end
      end
    end
    return request(self, method, params, handler, bufnr)
  end
end

function M.attach(buf, client)
  watch(client)
  vim.lsp.inline_completion.enable(true, { bufnr = buf })
  local group = api.nvim_create_augroup('smalllsp.native.' .. buf, { clear = true })
  api.nvim_create_autocmd({ 'InsertLeave', 'CursorMovedI', 'TextChangedI', 'BufUnload' }, {
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
end

--- Insert the next word or line of 0.12's current item at the cursor.
local function insert_piece(buf, item, kind)
  local insert = text.insert_text(item.insert_text)
  local pos = api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  if item.range and item.range.start.row == row and item.range.start.col <= col then
    -- what was typed since the item's range began is already in the buffer
    local typed = api.nvim_buf_get_lines(buf, row, row + 1, true)[1]:sub(item.range.start.col + 1, col)
    if insert:sub(1, #typed) == typed then
      insert = insert:sub(#typed + 1)
    end
  end
  local lines = vim.split(text.piece(insert, kind), '\n', { plain = true })
  api.nvim_buf_set_text(buf, row, col, row, col, lines)
  api.nvim_win_set_cursor(0, { row + #lines, (#lines == 1 and col or 0) + #lines[#lines] })
end

---@param kind "all"|"word"|"line"
function M.accept(buf, kind)
  if kind == 'all' then
    return vim.lsp.inline_completion.get({ bufnr = buf })
  end
  return vim.lsp.inline_completion.get({
    bufnr = buf,
    on_accept = function(item)
      insert_piece(buf, item, kind)
    end,
  })
end

function M.cycle(buf, step)
  local answer = answers[buf]
  if not answer or #answer.items == 0 then
    return false
  end
  vim.lsp.inline_completion.select({ bufnr = buf, count = step })
  answer.index = (answer.index - 1 + step) % #answer.items + 1
  draw_verdict(buf)
  return true
end

--- 0.12 has no public dismiss: cancel this buffer's pending requests and
--- restart its inline completion, which drops the shown item.
function M.dismiss(buf)
  if #api.nvim_buf_get_extmarks(buf, GHOST, 0, -1, { limit = 1 }) == 0 then
    return false
  end
  for _, client in ipairs(vim.lsp.get_clients({ bufnr = buf })) do
    for id, req in pairs(client.requests or {}) do
      if req.method == METHOD and req.bufnr == buf and req.type == 'pending' then
        lsp.cancel(client, id)
      end
    end
  end
  vim.lsp.inline_completion.enable(false, { bufnr = buf })
  vim.lsp.inline_completion.enable(true, { bufnr = buf })
  answers[buf] = nil
  clear_verdict(buf)
  return true
end

return M
