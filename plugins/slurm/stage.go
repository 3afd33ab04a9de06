package slurm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// visible returns where the nodes find a path of the artifact store: the
// path itself when the store is mounted on the nodes, else a copy staged
// under <shared_dir>/llmops/stage/<hex> (hard links where the filesystem
// allows). Staged objects are keyed by digest and reused by every job.
// Paths outside the store are returned unchanged.
func (m *meta) visible(p string) (string, error) {
	if p == "" || m.storeMounted {
		return p, nil
	}
	objects := filepath.Join(m.store.Root(), "objects", "sha256")
	rel, err := filepath.Rel(objects, p)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return p, nil
	}
	hex, sub, _ := strings.Cut(filepath.ToSlash(rel), "/")
	dst := filepath.Join(m.stageRoot(), hex)
	if _, err := os.Stat(dst); err != nil {
		if err := stageObject(filepath.Join(objects, hex), dst, m.stageRoot()); err != nil {
			return "", fmt.Errorf("staging %s%s into %s: %w", artifacts.Prefix, hex, m.stageRoot(), err)
		}
	}
	if sub == "" {
		return dst, nil
	}
	return filepath.Join(dst, filepath.FromSlash(sub)), nil
}

// stageObject copies a stored object (file or tree) to dst through a
// temporary name, world-readable, so the job user can read it.
func stageObject(src, dst, root string) error {
	tmp, err := os.MkdirTemp(root, ".stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	target := filepath.Join(tmp, "obj")
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		err = linkOrCopy(src, target, fi)
	} else {
		err = filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			t := filepath.Join(target, rel)
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			if fi.IsDir() {
				return os.MkdirAll(t, 0o755)
			}
			return linkOrCopy(p, t, fi)
		})
	}
	if err != nil {
		return err
	}
	if err := os.Rename(target, dst); err != nil {
		if _, serr := os.Stat(dst); serr == nil {
			return nil // staged meanwhile by someone else
		}
		return err
	}
	return nil
}

// linkOrCopy hard-links a stored (read-only, never changed) file, or
// copies it, and makes it readable by everyone.
func linkOrCopy(src, dst string, fi os.FileInfo) error {
	if fi.Mode().Perm()&0o044 == 0o044 {
		if err := os.Link(src, dst); err == nil {
			return nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	perm := os.FileMode(0o444)
	if fi.Mode()&0o111 != 0 {
		perm = 0o555
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, perm)
}

// importOutput brings a job's output (a tree or a file on the shared
// filesystem) into the artifact store under the digest the job computed,
// without reading it: the output is renamed into place when the store is
// on the same filesystem. Otherwise it has to be copied, and the copy is
// hashed and must match. The returned info describes the stored artifact.
func (m *meta) importOutput(out jobs.Output, listing string) (artifacts.Info, error) {
	src := out.Path
	if pid, err := artifacts.ParseID(out.ID); err == nil && m.store.Has(pid) {
		_ = os.RemoveAll(src)
		return m.store.Stat(pid)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return artifacts.Info{}, fmt.Errorf("the job's output %s: %w", src, err)
	}
	id := out.ID
	if fi.IsDir() {
		entries, err := readListing(listing)
		if err != nil {
			return artifacts.Info{}, fmt.Errorf("the job's listing of %s: %w", src, err)
		}
		computed := string(treeIDFromListing(entries))
		if id != "" && id != computed {
			return artifacts.Info{}, fmt.Errorf("the job's manifest gives %s the digest %s, but its listing hashes to %s", src, id, computed)
		}
		id = computed
	}
	pid, err := artifacts.ParseID(id)
	if err != nil {
		return artifacts.Info{}, fmt.Errorf("the job's manifest: %v", err)
	}
	if m.store.Has(pid) {
		_ = os.RemoveAll(src)
		return m.store.Stat(pid)
	}
	if err := readOnly(src); err != nil {
		return artifacts.Info{}, err
	}
	err = syscall.EXDEV
	if !hasLinks(src) { // links would dangle once moved: the store copies what they point at
		err = os.Rename(src, m.store.Path(pid))
	}
	switch {
	case err == nil:
		return m.store.Stat(pid)
	case m.store.Has(pid): // stored meanwhile
		_ = os.RemoveAll(src)
		return m.store.Stat(pid)
	case errors.Is(err, syscall.EXDEV):
		info, perr := m.store.Put(src, artifacts.PutOptions{Mode: artifacts.Move})
		if perr != nil {
			return artifacts.Info{}, perr
		}
		if info.ID != pid {
			return info, fmt.Errorf("the job's output %s was stored as %s, but the job computed %s", src, info.ID, pid)
		}
		return info, nil
	default:
		return artifacts.Info{}, fmt.Errorf("moving %s into the artifact store: %w", src, err)
	}
}

// readOnly removes the write bits of the files under p, as the store wants.
func readOnly(p string) error {
	return filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(q, fi.Mode().Perm()&^0o222)
	})
}

// hasLinks reports whether the tree at p contains symbolic links.
func hasLinks(p string) bool {
	found := false
	_ = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
