-- init.lua of the Neovim that tests/editors/test_neovim_typing.py runs in a
-- tmux terminal: a user's config (the plugin, a <Tab> that drives the
-- built-in popup and nvim-cmp's menu, no 'termguicolors'), plus T, which the
-- test reads through the --listen socket.
local options = vim.json.decode(assert(os.getenv('SMALLLSP_TEST_OPTIONS')))
vim.opt.rtp:prepend(options.plugin)
vim.opt.rtp:prepend(options.standins)
vim.cmd('filetype plugin indent on')
vim.o.termguicolors = false
vim.o.swapfile = false
vim.o.completeopt = 'menuone,noselect'
vim.o.shortmess = vim.o.shortmess .. 'I'

-- nvim-cmp and blink.cmp users map <Tab> like this (a menu key with a fallback)
local cmp, blink = require('cmp'), require('blink.cmp')
vim.keymap.set('i', '<Tab>', function()
  if vim.fn.pumvisible() == 1 then
    return '<C-n>'
  elseif cmp.visible() then
    return '<Cmd>lua require("cmp").select_next_item()<CR>'
  elseif blink.is_visible() then
    return '<Cmd>lua require("blink.cmp").select_next()<CR>'
  end
  return '<Tab>'
end, { expr = true, desc = 'user: popup, cmp or blink menu, or a tab' })
vim.keymap.set('i', '<F2>', '<Cmd>lua require("cmp").complete()<CR>', { desc = 'user: open the cmp menu' })
vim.keymap.set('i', '<F3>', '<Cmd>lua require("blink.cmp").show()<CR>', { desc = 'user: open the blink menu' })

require('smalllsp').setup(options.setup)

T = {}
local GHOSTS = { ['smalllsp.ghost'] = 'SmalllspGhost', ['nvim.lsp.inline_completion'] = 'ComplHint' }

--- The ghost text drawn in the current buffer: {namespace, row, col, text}, or nil.
function T.ghost()
  for name, group in pairs(GHOSTS) do
    local ns = vim.api.nvim_create_namespace(name)
    for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
      local first = {}
      for _, chunk in ipairs(mark[4].virt_text or {}) do
        if chunk[2] == group then
          first[#first + 1] = chunk[1]
        end
      end
      local lines = { table.concat(first) }
      for _, virt_line in ipairs(mark[4].virt_lines or {}) do
        local parts = {}
        for _, chunk in ipairs(virt_line) do
          parts[#parts + 1] = chunk[1]
        end
        lines[#lines + 1] = table.concat(parts)
      end
      return { namespace = name, row = mark[2], col = mark[3], text = table.concat(lines, '\n') }
    end
  end
  return nil
end

function T.state()
  local pos = vim.api.nvim_win_get_cursor(0)
  local info = vim.fn.complete_info({ 'items' })
  local words = {}
  for _, item in ipairs(info.items or {}) do
    words[#words + 1] = item.word
  end
  return vim.json.encode({
    lines = vim.api.nvim_buf_get_lines(0, 0, -1, true),
    mode = vim.api.nvim_get_mode().mode,
    cursor = { pos[1] - 1, pos[2] },
    ghost = T.ghost() or vim.NIL,
    messages = vim.fn.execute('messages'),
    errmsg = vim.v.errmsg,
    pum = vim.fn.pumvisible() == 1,
    pum_words = words,
    cmp = cmp.visible(),
    blink = blink.is_visible(),
    inline = require('smalllsp').config.inline,
    version = tostring(vim.version()),
    attached = #vim.tbl_filter(function(c) return c.initialized end, vim.lsp.get_clients({ name = 'smalllsp', bufnr = 0 })) > 0,
  })
end

--- Back to the file as it is on disk, with no messages and no error.
function T.reset(lines)
  vim.api.nvim_buf_set_lines(0, 0, -1, true, lines)
  vim.cmd('messages clear')
  vim.v.errmsg = ''
  return true
end
