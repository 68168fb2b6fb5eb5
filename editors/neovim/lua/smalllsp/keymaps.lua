--- Buffer-local insert-mode keys. A key does its smalllsp job only when there
--- is something to do (a suggestion to accept, say) and the completion popup
--- is closed; otherwise it does what it did before (the mapping it replaced,
--- or the key itself), so <Tab> still indents and still drives the popup.
local api = vim.api

local M = {}

local ACTIONS = {
  accept = function(impl, buf) return impl.accept(buf, 'all') end,
  accept_word = function(impl, buf) return impl.accept(buf, 'word') end,
  accept_line = function(impl, buf) return impl.accept(buf, 'line') end,
  next = function(impl, buf) return impl.cycle(buf, 1) end,
  prev = function(impl, buf) return impl.cycle(buf, -1) end,
  dismiss = function(impl, buf) return impl.dismiss(buf) end,
}

--- What the key did before smalllsp mapped it, as keys (in <> notation) for an <expr> map.
local function fallback(previous, lhs)
  if previous.callback then
    if previous.expr == 1 then
      return previous.callback()
    end
    vim.schedule(previous.callback) -- not inside the <expr> evaluation, where text is locked
    return ''
  end
  if previous.rhs and previous.rhs ~= '' then
    if previous.expr == 1 then
      return api.nvim_eval(previous.rhs)
    end
    api.nvim_feedkeys(api.nvim_replace_termcodes(previous.rhs, true, true, true), previous.noremap == 1 and 'n' or 'm', false)
    return ''
  end
  return lhs
end

function M.attach(buf, keymaps, impl)
  for name, lhs in pairs(keymaps) do
    if lhs then
      local previous = vim.fn.maparg(lhs, 'i', false, true)
      if previous.desc and previous.desc:find('^smalllsp:') then
        previous = {} -- attached before: keep what was there before that
      end
      vim.keymap.set('i', lhs, function()
        if vim.fn.pumvisible() == 0 and ACTIONS[name](impl, buf) then
          return ''
        end
        return fallback(previous, lhs)
      end, { buffer = buf, expr = true, replace_keycodes = true, silent = true, desc = 'smalllsp: ' .. name })
    end
  end
end

return M
