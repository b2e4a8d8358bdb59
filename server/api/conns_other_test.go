//go:build !linux

package api_test

import "errors"

func helperNode(string, int) error { return errors.New("the idle-connection node runs on Linux only") }
