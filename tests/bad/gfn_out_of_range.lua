-- deliberately broken: gfn beyond the domain's gfn space (line 3)
local d = domain{ name = "x", gfns = 0x100, ram = 4 }
d:populate(0x100)
