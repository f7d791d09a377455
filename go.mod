module github.com/pgmask/pgmask

go 1.26.8
