-- deliberately broken: a syntax error on line 3
local d = domain{ name = "x" }
local = 3
