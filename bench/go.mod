module github.com/safemapfix/safemapfix/bench

go 1.26.0

require github.com/safemapfix/safemapfix v0.0.0

require github.com/puzpuzpuz/xsync/v4 v4.5.0

replace github.com/safemapfix/safemapfix => ../
