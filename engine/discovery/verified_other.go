//go:build !unix

package discovery

// fileID is not available here: every check reads the files.
type fileID struct{}

func statID(string) (fileID, bool) { return fileID{}, false }

func (fileID) settled() bool { return false }
