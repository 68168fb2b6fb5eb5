--- Ghost text drawn with extmarks, for Neovim 0.10 and 0.11 (and on 0.12 with
--- `inline = "extmark"`). It sends textDocument/inlineCompletion itself:
--- after a pause in typing (debounce), at most one request per buffer in
--- flight (a newer edit cancels it with $/cancelRequest), and an answer for a
--- text or cursor that has moved since is dropped. Typing along a suggestion
--- keeps its rest on screen.
local api = vim.api
local lsp = require('smalllsp.lsp')
local text = require('smalllsp.text')
local verdict = require('smalllsp.verdict')

local M = {}

M.namespace = api.nvim_create_namespace('smalllsp.ghost')
local INVOKED, AUTOMATIC = 1, 2

---@class smalllsp.Shown
---@field row integer where the ghost text starts (0-based)
---@field col integer byte column
---@field text string what an accept inserts there
---@field item table the LSP item it comes from
---@field replace_to? integer[] {row, col}: the item's range end past the cursor (whole accept only)

---@class smalllsp.GhostState
---@field client_id integer
---@field timer uv.uv_timer_t
---@field pending? integer request id in flight
---@field items table[]
---@field index integer
---@field shown? smalllsp.Shown

---@type table<integer, smalllsp.GhostState>
local buffers = {}
local config = { debounce_ms = 150, verdict = true }

function M.setup(cfg)
  config = cfg
end

--- Neovim before 0.12 does not advertise inline completion; the server answers
--- it either way, but says what this client does.
function M.capabilities()
  return vim.tbl_deep_extend('force', vim.lsp.protocol.make_client_capabilities(), {
    textDocument = { inlineCompletion = { dynamicRegistration = false } },
  })
end

local function cursor()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

local function render(buf, st, hint)
  api.nvim_buf_clear_namespace(buf, M.namespace, 0, -1)
  local shown = st.shown
  if not shown then
    return
  end
  local lines = vim.split(shown.text, '\n', { plain = true })
  local first = { { lines[1], 'SmalllspGhost' } }
  if hint then
    first[#first + 1] = { ' ' .. hint, 'SmalllspHint' }
  end
  local label = config.verdict and verdict.label(verdict.of(shown.item))
  if label then
    -- what is left of the window after the line and the ghost text's first
    -- line (at least the start of the label): the rest is in :SmalllspStatus
    local info = vim.fn.getwininfo(api.nvim_get_current_win())[1]
    local line = api.nvim_buf_get_lines(buf, shown.row, shown.row + 1, true)[1]
    local used = vim.fn.strdisplaywidth(line) + vim.fn.strdisplaywidth(lines[1]) + 2 + (hint and #hint + 1 or 0)
    local width = math.max(24, info.width - info.textoff - used - 1)
    first[#first + 1] = { '  ' .. verdict.fit(label, width), 'SmalllspCrossFile' }
  end
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], 'SmalllspGhost' } }
  end
  api.nvim_buf_set_extmark(buf, M.namespace, shown.row, shown.col, {
    virt_text = first,
    virt_text_pos = 'inline',
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = 'combine',
  })
end

local function hide(buf, st)
  st.shown = nil
  api.nvim_buf_clear_namespace(buf, M.namespace, 0, -1)
end

--- Show item `st.index` at the cursor, without what was typed since its range began.
local function show_item(buf, st, client, hint)
  local item = st.items[st.index]
  local insert = text.insert_text(item.insertText)
  local row, col = cursor()
  local line = api.nvim_buf_get_lines(buf, row, row + 1, true)[1]
  local start_col, replace_to = col, nil
  if item.range then
    local first_row, last_row = item.range.start.line, item.range['end'].line
    if first_row ~= row or last_row < row then
      hide(buf, st) -- the item is for another line: stale
      return
    end
    start_col = text.byte_col(line, item.range.start.character, client.offset_encoding)
    local last_line = last_row == row and line or api.nvim_buf_get_lines(buf, last_row, last_row + 1, true)[1]
    local end_col = text.byte_col(last_line, item.range['end'].character, client.offset_encoding)
    if last_row > row or end_col > col then
      replace_to = { last_row, end_col }
    end
  end
  local typed = line:sub(start_col + 1, col)
  if start_col > col or insert:sub(1, #typed) ~= typed or #insert == #typed then
    hide(buf, st)
    return
  end
  st.shown = { row = row, col = col, text = insert:sub(#typed + 1), item = item, replace_to = replace_to }
  render(buf, st, hint)
end

--- After an edit or a move: keep the rest of the suggestion if the user typed along it.
local function follow(buf, st)
  local shown = st.shown
  if not shown then
    return
  end
  local row, col = cursor()
  if row < shown.row or (row == shown.row and col < shown.col) then
    hide(buf, st)
    return
  end
  -- the anchor may be gone (lines deleted): then there is nothing to follow
  local ok, typed_lines = pcall(api.nvim_buf_get_text, buf, shown.row, shown.col, row, col, {})
  local typed = ok and table.concat(typed_lines, '\n') or nil
  if typed == '' then
    return
  end
  if typed and #typed < #shown.text and shown.text:sub(1, #typed) == typed then
    shown.text = shown.text:sub(#typed + 1)
    shown.row, shown.col, shown.replace_to = row, col, nil
    render(buf, st)
    return
  end
  hide(buf, st)
end

local function cancel_pending(st)
  if st.pending then
    local client = vim.lsp.get_client_by_id(st.client_id)
    if client then
      lsp.cancel(client, st.pending)
    end
    st.pending = nil
  end
end

local function request(buf, trigger)
  local st = buffers[buf]
  local client = st and vim.lsp.get_client_by_id(st.client_id)
  if not client then
    return
  end
  cancel_pending(st)
  if not in_insert_mode() or api.nvim_get_current_buf() ~= buf then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = trigger }
  local tick = api.nvim_buf_get_changedtick(buf)
  local row, col = cursor()
  local id
  local ok, request_id = lsp.request(client, 'textDocument/inlineCompletion', params, function(err, result)
    if st.pending == id then
      st.pending = nil
    end
    if err then
      if err.code ~= lsp.REQUEST_CANCELLED and err.code ~= lsp.CONTENT_MODIFIED then
        lsp.report('textDocument/inlineCompletion', err)
      end
      return
    end
    local now_row, now_col = cursor()
    if buffers[buf] ~= st or api.nvim_get_current_buf() ~= buf or not in_insert_mode()
      or api.nvim_buf_get_changedtick(buf) ~= tick or now_row ~= row or now_col ~= col then
      return -- superseded: the text or the cursor moved while the model ran
    end
    local items = {}
    for _, item in ipairs(result and (result.items or result) or {}) do
      if text.insert_text(item.insertText) ~= '' then
        items[#items + 1] = item
      end
    end
    st.items, st.index = items, 1
    if #items == 0 then
      hide(buf, st)
      return
    end
    show_item(buf, st, client, #items > 1 and ('(1/%d)'):format(#items) or nil)
  end, buf)
  if ok then
    id = request_id
    st.pending = request_id
  end
end

local function schedule(buf, st)
  st.timer:stop()
  st.timer:start(config.debounce_ms, 0, vim.schedule_wrap(function()
    if buffers[buf] == st then
      request(buf, AUTOMATIC)
    end
  end))
end

function M.attach(buf, client)
  local st = buffers[buf]
  if st then
    st.client_id = client.id
    return
  end
  st = { client_id = client.id, timer = assert((vim.uv or vim.loop).new_timer()), items = {}, index = 1 }
  buffers[buf] = st
  local group = api.nvim_create_augroup('smalllsp.ghost.' .. buf, { clear = true })
  api.nvim_create_autocmd('InsertEnter', {
    group = group,
    buffer = buf,
    callback = function()
      schedule(buf, st)
    end,
  })
  api.nvim_create_autocmd({ 'TextChangedI', 'TextChangedP', 'CursorMovedI' }, {
    group = group,
    buffer = buf,
    callback = function()
      cancel_pending(st)
      follow(buf, st)
      schedule(buf, st)
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = buf,
    callback = function()
      M.dismiss(buf)
    end,
  })
  api.nvim_create_autocmd({ 'BufUnload', 'LspDetach' }, {
    group = group,
    buffer = buf,
    callback = function(ev)
      if ev.event == 'LspDetach' and ev.data.client_id ~= st.client_id then
        return
      end
      M.detach(buf)
    end,
  })
  -- the client attached while the user was already typing (insert mode
  -- entered before the server was up): ask now, as InsertEnter would have
  if api.nvim_get_current_buf() == buf and in_insert_mode() then
    schedule(buf, st)
  end
end

function M.detach(buf)
  local st = buffers[buf]
  if not st then
    return
  end
  cancel_pending(st)
  st.timer:stop()
  st.timer:close()
  buffers[buf] = nil
  if api.nvim_buf_is_valid(buf) then
    api.nvim_buf_clear_namespace(buf, M.namespace, 0, -1)
  end
  pcall(api.nvim_del_augroup_by_name, 'smalllsp.ghost.' .. buf) -- gone already when the buffer was wiped
end

--- Bring the shown suggestion up to date with the buffer as it is now: typed
--- along it, its rest stays; anything else hides it. Keys can arrive faster
--- than the autocmds that follow typing run (typeahead: a busy editor, a
--- slow link), so every key checks again before it acts.
---@return smalllsp.Shown? shown what is on screen now, if anything
local function current(buf, st)
  if not st or not st.shown or api.nvim_get_current_buf() ~= buf or not api.nvim_buf_is_valid(buf) then
    return nil
  end
  follow(buf, st)
  local shown = st.shown
  if not shown or #api.nvim_buf_get_extmarks(buf, M.namespace, 0, -1, { limit = 1 }) == 0 then
    return nil -- a key acts only on a ghost that is really drawn
  end
  local row, col = cursor()
  if row ~= shown.row or col ~= shown.col then
    return nil
  end
  return shown
end

--- Insert the shown suggestion's rest (or its next word or line) at the
--- cursor, measured against the line as it is at this moment; false when
--- nothing is shown. Must run where text may change (not in an <expr> map).
---@param kind "all"|"word"|"line"
function M.insert_now(buf, kind)
  local st = buffers[buf]
  local shown = current(buf, st)
  if not shown then
    return false
  end
  local piece = text.piece(shown.text, kind)
  local lines = vim.split(piece, '\n', { plain = true })
  local whole = piece == shown.text
  local end_row, end_col = shown.row, shown.col
  if whole and shown.replace_to then
    end_row, end_col = shown.replace_to[1], shown.replace_to[2]
  end
  api.nvim_buf_set_text(buf, shown.row, shown.col, end_row, end_col, lines)
  local row = shown.row + #lines - 1
  local col = (#lines == 1 and shown.col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { row + 1, col })
  if whole then
    hide(buf, st)
    st.items = {}
    local client = vim.lsp.get_client_by_id(st.client_id)
    if client and shown.item.command then
      lsp.exec_cmd(client, shown.item.command, buf)
    end
    return true
  end
  shown.text = shown.text:sub(#piece + 1)
  shown.row, shown.col, shown.replace_to = row, col, nil
  render(buf, st)
  return true
end

--- Accept the shown suggestion, or its next word or line; false when none is
--- shown. Must run where text may change (see init.lua's accept()).
---@param kind "all"|"word"|"line"
function M.accept(buf, kind)
  return M.insert_now(buf, kind)
end

--- Show the next (step 1) or previous (-1) candidate; with none shown, ask now.
function M.cycle(buf, step)
  local st = buffers[buf]
  local client = st and vim.lsp.get_client_by_id(st.client_id)
  if not client or api.nvim_get_current_buf() ~= buf then
    return false
  end
  if not current(buf, st) or #st.items == 0 then
    request(buf, INVOKED)
    return true
  end
  st.index = (st.index - 1 + step) % #st.items + 1
  show_item(buf, st, client, ('(%d/%d)'):format(st.index, #st.items))
  return true
end

--- The LSP item of the suggestion on screen in `buf`, if any.
function M.shown_item(buf)
  local st = buffers[buf]
  return st and st.shown and st.shown.item or nil
end

--- Whether key `action` ("accept", "next", ...) has something to do now.
function M.can(buf, action)
  local st = buffers[buf]
  if action == 'next' or action == 'prev' then
    return st ~= nil and vim.lsp.get_client_by_id(st.client_id) ~= nil
  end
  return current(buf, st) ~= nil
end

--- Hide the suggestion and stop what is pending; false when nothing was shown.
function M.dismiss(buf)
  local st = buffers[buf]
  if not st then
    return false
  end
  local had = st.shown ~= nil
  st.timer:stop()
  cancel_pending(st)
  st.items = {}
  hide(buf, st)
  return had
end

return M
