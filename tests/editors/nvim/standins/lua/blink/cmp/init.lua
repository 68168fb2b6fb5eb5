-- A stand-in for blink.cmp in the editor tests: is_visible(), the call the
-- smalllsp plugin makes, and a real floating menu of its own (show() opens
-- it, select_next() walks it).
local menu = require('standin.menu').new()
return {
  is_visible = menu.visible,
  show = menu.open,
  hide = menu.close,
  select_next = menu.next,
}
