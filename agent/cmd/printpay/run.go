package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"printpay.dev/printpay/agent"
	"printpay.dev/printpay/agent/config"
)

// loadConfig reads --config FILE; with no file named, the default file
// when it exists, else the defaults.
func loadConfig(path string) (config.Config, error) {
	if path == "" {
		path = config.DefaultFile()
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return config.Default(), nil
		}
	}
	return config.Load(path)
}

// cmdRun runs the agent in the foreground until interrupted.
//
//	printpay run [--config FILE] [--spool DIR] [--log FILE] [--debug]
func cmdRun(ctx context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(s.err)
	cfgPath := fs.String("config", "", "configuration file (TOML; default "+config.DefaultFile()+")")
	spoolDir := fs.String("spool", "", "spool directory (overrides [spool] dir)")
	logFile := fs.String("log", "", "log file (overrides [log] file; \"-\" for none)")
	debug := fs.Bool("debug", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(s.err, "printpay run: unexpected arguments:", fs.Args())
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(s.err, err)
		return 1
	}
	if *spoolDir != "" {
		cfg.Spool.Dir = *spoolDir
	}
	switch *logFile {
	case "":
	case "-":
		cfg.Log.File = ""
	default:
		cfg.Log.File = *logFile
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger, closer, err := agent.NewLogger(cfg.Log, s.err, level)
	if err != nil {
		fmt.Fprintln(s.err, "printpay run: log:", err)
		return 1
	}
	defer closer.Close()
	agent.Version = version
	logger.Info("printpay starting", "version", version, "config", cfg.File, "pid", os.Getpid())
	if err := agent.Run(ctx, cfg, logger); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("printpay stopped", "err", err)
		return 1
	}
	return 0
}
