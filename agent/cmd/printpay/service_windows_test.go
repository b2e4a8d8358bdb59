//go:build windows

package main

const serviceSignals = false
