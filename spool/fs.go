package spool

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FS is the spool's only way to the disk. OS is the real one; tests use a
// file system that can crash and lose every write that was not synced.
//
// Durability contract the spool relies on (and a crash-simulating FS must
// honour): bytes written to a File are durable once File.Sync returns; a
// created, renamed or removed directory entry is durable once SyncDir of its
// parent returns.
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	MkdirAll(name string, perm fs.FileMode) error
	Rename(oldname, newname string) error
	Remove(name string) error
	SyncDir(name string) error
	// Free reports the bytes available to the spool on the disk holding
	// name.
	Free(name string) (uint64, error)
	// Lock takes an exclusive lock on the file name (created if needed),
	// held until the returned Closer is closed.
	Lock(name string) (io.Closer, error)
}

// File is an open spool file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	Sync() error
	Stat() (fs.FileInfo, error)
}

// OS is the operating system's file system.
type OS struct{}

var _ FS = OS{}

// OpenFile opens a file with os.OpenFile.
func (OS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReadDir lists a directory sorted by name.
func (OS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// MkdirAll creates a directory and its parents.
func (OS) MkdirAll(name string, perm fs.FileMode) error { return os.MkdirAll(name, perm) }

// Rename renames a file, replacing the target.
func (OS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// Remove removes a file.
func (OS) Remove(name string) error { return os.Remove(name) }

// SyncDir makes the directory's entries durable.
func (OS) SyncDir(name string) error { return syncDir(filepath.Clean(name)) }

// Free reports the bytes available to an unprivileged user on name's disk.
func (OS) Free(name string) (uint64, error) { return freeBytes(name) }

// Lock takes an exclusive, non-blocking lock on name.
func (OS) Lock(name string) (io.Closer, error) { return lockFile(name) }
