// Package browser drives headless Chromium over the DevTools protocol for
// the status page's tests: the page runs its own script, and a test reads
// the DOM and clicks as a person would.
package browser
