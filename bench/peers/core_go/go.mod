module corego

go 1.19
