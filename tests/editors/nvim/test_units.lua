-- Unit tests of the plugin's pure parts, run with `nvim --headless --clean -l`
-- by tests/editors/test_neovim.py. Prints one line per failure and a summary;
-- exits non-zero when any test fails.
vim.opt.rtp:prepend(assert(arg[1], 'usage: nvim -l test_units.lua <plugin dir>'))

local text = require('smalllsp.text')
local verdict = require('smalllsp.verdict')
local config = require('smalllsp.config')
local status = require('smalllsp.status')

local passed, failed = 0, 0
local function test(name, fn)
  local ok, err = pcall(fn)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    io.stdout:write('FAIL ', name, ': ', tostring(err), '\n')
  end
end

local function eq(actual, expected)
  if not vim.deep_equal(actual, expected) then
    error(string.format('expected %s, got %s', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

local function raises(fn, pattern)
  local ok, err = pcall(fn)
  if ok then
    error('expected an error matching ' .. pattern, 2)
  end
  if not tostring(err):find(pattern, 1, true) then
    error(string.format('error %q does not contain %q', tostring(err), pattern), 2)
  end
end

test('next_word takes blanks and a word', function()
  eq(text.next_word('return x + 1'), 'return')
  eq(text.next_word(' x + 1'), ' x')
  eq(text.next_word(' + 1'), ' +')
  eq(text.next_word('(a, b)'), '(')
  eq(text.next_word('\n    y = 2'), '\n    ')
  eq(text.next_word('   '), '   ')
  eq(text.next_word('héllo'), 'h')
  eq(text.next_word('éa'), 'é') -- a multi-byte character is never split
end)

test('next_line takes the rest of the line, then the break and the next line', function()
  eq(text.next_line('a = 1\n    b = 2'), 'a = 1')
  eq(text.next_line('\n    b = 2\n    c'), '\n    b = 2')
  eq(text.next_line('\n'), '\n')
  eq(text.piece('x\ny', 'all'), 'x\ny')
end)

test('byte_col counts columns in the negotiated encoding', function()
  local line = 'ä😀x' -- 2 + 4 + 1 bytes; utf-16: 1 + 2 + 1 units; utf-32: 1 + 1 + 1
  eq(text.byte_col(line, 3, 'utf-8'), 3)
  eq(text.byte_col(line, 1, 'utf-16'), 2)
  eq(text.byte_col(line, 3, 'utf-16'), 6)
  eq(text.byte_col(line, 4, 'utf-16'), 7)
  eq(text.byte_col(line, 2, 'utf-32'), 6)
  eq(text.byte_col(line, 99, 'utf-16'), 7)
  eq(text.byte_col(line, 99, 'utf-8'), 7)
end)

test('insert_text reads strings and snippets', function()
  eq(text.insert_text('abc'), 'abc')
  eq(text.insert_text({ kind = 'snippet', value = 'f($1)' }), 'f($1)')
end)

local function item(arguments)
  return { insertText = 'x', command = { title = 't', command = 'smalllsp.accepted', arguments = arguments } }
end

test('verdict of a flagged item and its label', function()
  local flagged = verdict.of(item({ { verdict = 'cross-file', reasons = { 'uses charge() from billing/api.py', 'second' } } }))
  eq(flagged, { verdict = 'cross-file', reasons = { 'uses charge() from billing/api.py', 'second' } })
  eq(verdict.label(flagged), '⚠ cross-file: uses charge() from billing/api.py')
  eq(verdict.label({ verdict = 'cross-file', reasons = {} }), '⚠ cross-file')
end)

test('a local item, an item without a command, and malformed arguments have no label', function()
  eq(verdict.label(verdict.of(item({ { verdict = 'local', reasons = {} } }))), nil)
  eq(verdict.of({ insertText = 'x' }), nil)
  eq(verdict.of(item({ 'not a table' })), nil)
  eq(verdict.of(item(vim.NIL)), nil)
  eq(verdict.of({ command = { command = 'other.command', arguments = { { verdict = 'cross-file' } } } }), nil)
  eq(verdict.of(item({ { verdict = 'cross-file', reasons = { 1, 'kept' } } })).reasons, { 'kept' })
end)

test('config defaults resolve the ghost-text path and the start API', function()
  local cfg = config.resolve({ python = '/usr/bin/python3' })
  eq(cfg.cmd, { '/usr/bin/python3', '-m', 'smalllsp', 'serve' })
  eq(cfg.inline, 'extmark') -- auto: the plugin's own ghost text on every version
  eq(cfg.lsp_start, 'enable')
  eq(cfg.keymaps.accept, '<Tab>')
  eq(config.resolve({ inline = 'extmark', keymaps = { accept = false } }).keymaps, {
    accept = false, accept_word = '<M-Right>', accept_line = '<M-C-Right>', next = '<M-]>', prev = '<M-[>', dismiss = '<C-]>',
  })
  eq(config.resolve({ filetypes = { 'lua' } }).filetypes, { 'lua' })
end)

test('config rejects bad options with a message naming them', function()
  raises(function() config.resolve({ setting = {} }) end, 'unknown option "setting"')
  raises(function() config.resolve({ inline = 'ghost' }) end, 'option inline must be one of auto, native, extmark')
  raises(function() config.resolve({ cmd = {} }) end, 'option cmd must not be empty')
  raises(function() config.resolve({ cmd = 'smalllsp serve' }) end, 'option cmd must be a table')
  raises(function() config.resolve({ keymaps = { accept_all = '<Tab>' } }) end, 'unknown keymap "accept_all"')
  raises(function() config.resolve({ keymaps = { accept = 1 } }) end, 'keymaps.accept must be a key')
  raises(function() config.resolve({ debounce_ms = -1 }) end, 'debounce_ms must be >= 0')
  raises(function() config.resolve({ filetypes = { python = true } }) end, 'option filetypes must be a list')
  raises(function() config.resolve('python') end, 'option opts must be a table')
end)

test('status line from a smalllsp/status answer', function()
  eq(status.format({ version = '0.1.0', state = 'ready', model = 'm.gguf', device = 'cpu', load_seconds = 0.54, last_latency_ms = 312.4 }),
    'smalllsp 0.1.0: ready · m.gguf on cpu · loaded in 0.54 s · last completion 312 ms')
  eq(status.format({ version = '0.1.0', state = 'failed', error = 'model file not found: /x.gguf', model = vim.NIL }),
    'smalllsp 0.1.0: failed · model file not found: /x.gguf')
end)

test('status line counts acceptances by verdict (the server\'s keys local and cross_file)', function()
  eq(status.format({ version = '0.1.0', state = 'ready', accepted = { ['local'] = 3, cross_file = 1 }, withheld = 2 }),
    'smalllsp 0.1.0: ready · accepted: 3 local, 1 cross-file · withheld: 2')
  eq(status.shown_verdict({ command = { command = 'smalllsp.accepted', arguments = { { verdict = 'cross-file', reasons = { 'a', 'b' } } } } }),
    'shown suggestion: cross-file: a; b')
end)

test('a long verdict label is cut to the width, pointing at :SmalllspStatus', function()
  eq(verdict.fit('⚠ cross-file: short', 40), '⚠ cross-file: short')
  local cut = verdict.fit('⚠ cross-file: ' .. string.rep('x', 80), 40)
  eq(vim.fn.strdisplaywidth(cut) <= 40, true)
  eq(cut, '⚠ cross-file: ' .. string.rep('x', 40 - 14 - vim.fn.strdisplaywidth(verdict.MORE)) .. verdict.MORE)
end)

test('keys respect nvim-cmp\'s and blink.cmp\'s menus only when they are loaded', function()
  local keymaps = require('smalllsp.keymaps')
  eq(keymaps.menu_open(), false)
  package.loaded['cmp'] = { visible = function() return true end }
  eq(keymaps.menu_open(), true)
  package.loaded['cmp'] = { visible = function() return false end }
  package.loaded['blink.cmp'] = { is_visible = function() return true end }
  eq(keymaps.menu_open(), true)
  package.loaded['blink.cmp'] = { is_visible = function() error('broken') end }
  eq(keymaps.menu_open(), false)
  package.loaded['cmp'], package.loaded['blink.cmp'] = nil, nil
end)

io.stdout:write(string.format('%d passed, %d failed\n', passed, failed))
os.exit(failed == 0 and 0 or 1)
