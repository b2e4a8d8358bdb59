package agent

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"

	"printpay.dev/printpay/agent/config"
)

// NewLogger returns the agent's logger: JSON lines to the [log] file,
// rotated by size, and text to console when it is not nil (a foreground
// run). Close the returned Closer when done.
func NewLogger(lc config.Log, console io.Writer, level slog.Leveler) (*slog.Logger, io.Closer, error) {
	if level == nil {
		level = slog.LevelInfo
	}
	var handlers []slog.Handler
	var closer io.Closer = io.NopCloser(nil)
	if lc.File != "" {
		if err := os.MkdirAll(filepath.Dir(lc.File), 0o700); err != nil {
			return nil, nil, err
		}
		lj := &lumberjack.Logger{
			Filename:   lc.File,
			MaxSize:    int(max(1, (lc.MaxSize+(1<<20)-1)>>20)), // megabytes
			MaxBackups: lc.MaxFiles,
		}
		closer = lj
		handlers = append(handlers, slog.NewJSONHandler(lj, &slog.HandlerOptions{Level: level}))
	}
	if console != nil {
		handlers = append(handlers, slog.NewTextHandler(console, &slog.HandlerOptions{Level: level}))
	}
	switch len(handlers) {
	case 0:
		return slog.New(slog.DiscardHandler), closer, nil
	case 1:
		return slog.New(handlers[0]), closer, nil
	}
	return slog.New(slog.NewMultiHandler(handlers...)), closer, nil
}
