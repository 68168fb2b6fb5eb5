-- A stand-in for nvim-cmp in the editor tests: visible(), the call the
-- smalllsp plugin makes, and a real floating menu (complete() opens it,
-- select_next_item() walks it).
local menu = require('standin.menu').new()
return {
  visible = menu.visible,
  complete = menu.open,
  close = menu.close,
  select_next_item = menu.next,
}
