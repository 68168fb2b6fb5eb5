-- A stand-in for blink.cmp in the editor tests: is_visible(), the call the
-- smalllsp plugin makes, backed by the nvim-cmp stand-in's floating menu.
local cmp = require('cmp')
return {
  is_visible = cmp.visible,
  show = cmp.complete,
  hide = cmp.close,
  select_next = cmp.select_next_item,
}
