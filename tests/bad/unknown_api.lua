-- deliberately broken: calls a method that does not exist (line 3)
local d = domain{ name = "x", ram = 4 }
d:frobnicate(1)
