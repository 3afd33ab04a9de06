//go:build !linux

package artifacts

import "errors"

func cloneFile(src, dst string) error { return errors.ErrUnsupported }
