--- Pure text helpers: which part of a suggestion a partial accept takes, and
--- LSP columns as byte columns. No editor state, so they are tested alone.
local M = {}

--- The next word of a suggestion, the way VS Code's "accept next word" cuts
--- it: leading blanks plus a run of word characters (or of other
--- non-blank characters); at a line break, the break and the next line's indentation.
---@param text string
---@return string
function M.next_word(text)
  return text:match('^[ \t]*[%w_]+')
    or text:match('^[ \t]*[^%w_%s]+')
    or text:match('^[ \t]*\r?\n[ \t]*')
    or text
end

--- The rest of the suggestion's current line; at a line break, the break and
--- the whole next line.
---@param text string
---@return string
function M.next_line(text)
  return text:match('^[^\n]+') or text:match('^\n[^\n]*') or text
end

--- The piece of `text` that an accept of `kind` ("all", "word" or "line") inserts.
---@param text string
---@param kind "all"|"word"|"line"
---@return string
function M.piece(text, kind)
  if kind == 'word' then
    return M.next_word(text)
  elseif kind == 'line' then
    return M.next_line(text)
  end
  return text
end

--- The byte column of LSP column `character` on `line`, counted in the
--- client's position encoding ("utf-8", "utf-16" or "utf-32"); a column past
--- the end of the line is the end of the line.
---@param line string
---@param character integer
---@param encoding string
---@return integer
function M.byte_col(line, character, encoding)
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local units, i = 0, 1
  while i <= #line and units < character do
    local byte = line:byte(i)
    local width = byte < 0x80 and 1 or byte < 0xE0 and 2 or byte < 0xF0 and 3 or 4
    units = units + ((encoding == 'utf-16' and width == 4) and 2 or 1)
    i = i + width
  end
  return math.min(i - 1, #line)
end

--- The suggestion's text: a plain string, or a snippet's source.
---@param insert_text string|{value: string}
---@return string
function M.insert_text(insert_text)
  if type(insert_text) == 'table' then
    return insert_text.value or ''
  end
  return insert_text or ''
end

return M
