-- A completion menu for the stand-ins of nvim-cmp and blink.cmp in the
-- editor tests (both are on GitHub only): a real floating window that open()
-- shows at the cursor and next() walks, inserting the selected word as those
-- plugins do. Each new() is a menu of its own.
local api = vim.api

local function new()
  local M = {}
  local menu -- { win, buf, items, index, row, col }

  function M.visible()
    return menu ~= nil and api.nvim_win_is_valid(menu.win)
  end

  function M.close()
    if menu and api.nvim_win_is_valid(menu.win) then
      api.nvim_win_close(menu.win, true)
    end
    menu = nil
  end

  function M.open()
    M.close()
    local items = { 'alpha', 'beta' }
    local buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_lines(buf, 0, -1, true, items)
    local win = api.nvim_open_win(buf, false, {
      relative = 'cursor', row = 1, col = 0, width = 12, height = #items, style = 'minimal', border = 'single',
    })
    local pos = api.nvim_win_get_cursor(0)
    menu = { win = win, buf = buf, items = items, index = 0, row = pos[1] - 1, col = pos[2] }
    api.nvim_create_autocmd('InsertLeave', { once = true, callback = function() M.close() end })
  end

  function M.next()
    if not M.visible() then
      return
    end
    local previous = menu.index > 0 and menu.items[menu.index] or ''
    menu.index = menu.index % #menu.items + 1
    local word = menu.items[menu.index]
    api.nvim_buf_set_text(0, menu.row, menu.col, menu.row, menu.col + #previous, { word })
    api.nvim_win_set_cursor(0, { menu.row + 1, menu.col + #word })
    api.nvim_win_set_cursor(menu.win, { menu.index, 0 })
  end

  return M
end

return { new = new }
