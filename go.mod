module github.com/cxaudit/cxaudit

go 1.26.8
