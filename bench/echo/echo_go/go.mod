module echogo

go 1.19
