package cloud

// syncDir is a no-op on Windows: directories cannot be opened for sync, and
// NTFS journals renames.
func syncDir(dir string) error { return nil }
