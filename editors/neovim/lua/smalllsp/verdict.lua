--- The cross-file verdict that the server attaches to an inline completion
--- item as the arguments of its `smalllsp.accepted` command, and the label
--- both ghost-text paths show next to a flagged suggestion.
local M = {}

M.COMMAND = 'smalllsp.accepted'

---@class smalllsp.Verdict
---@field verdict string "local" or "cross-file"
---@field reasons string[]

--- The verdict carried by `item`, or nil when it carries none (an older server).
---@param item? table an LSP InlineCompletionItem, or 0.12's vim.lsp.inline_completion.Item
---@return smalllsp.Verdict?
function M.of(item)
  local command = type(item) == 'table' and item.command or nil
  if type(command) ~= 'table' or command.command ~= M.COMMAND or type(command.arguments) ~= 'table' then
    return nil
  end
  local argument = command.arguments[1]
  if type(argument) ~= 'table' or type(argument.verdict) ~= 'string' then
    return nil
  end
  local reasons = {}
  for _, reason in ipairs(type(argument.reasons) == 'table' and argument.reasons or {}) do
    if type(reason) == 'string' then
      reasons[#reasons + 1] = reason
    end
  end
  return { verdict = argument.verdict, reasons = reasons }
end

--- "⚠ cross-file: <first reason>" for a flagged suggestion, nil for a local one.
---@param verdict? smalllsp.Verdict
---@return string?
function M.label(verdict)
  if not verdict or verdict.verdict ~= 'cross-file' then
    return nil
  end
  local reason = verdict.reasons[1]
  return reason and ('⚠ cross-file: ' .. reason) or '⚠ cross-file'
end

M.MORE = '… (:SmalllspStatus)'

--- `label` cut to `width` display cells, ending in a pointer to where the
--- whole verdict is (:SmalllspStatus prints every reason in full).
---@param label string
---@param width integer
---@return string
function M.fit(label, width)
  if vim.fn.strdisplaywidth(label) <= width then
    return label
  end
  local room = width - vim.fn.strdisplaywidth(M.MORE)
  local chars = vim.fn.strchars(label)
  local cut = ''
  for n = chars, 0, -1 do
    cut = vim.fn.strcharpart(label, 0, n)
    if vim.fn.strdisplaywidth(cut) <= room then
      break
    end
  end
  return vim.trim(cut) .. M.MORE
end

return M
