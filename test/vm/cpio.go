package vm

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// File is one entry of an initramfs.
type File struct {
	// Path inside the initramfs, without a leading slash ("bin/busybox").
	Path string
	// Mode holds the permission bits and, for directories and symlinks,
	// fs.ModeDir or fs.ModeSymlink.
	Mode fs.FileMode
	// Data is a regular file's contents, or a symlink's target.
	Data []byte
	// Src, when set, is a host file whose contents are copied instead of
	// Data (read while the archive is written).
	Src string
}

// WriteInitramfs writes files as an uncompressed newc cpio archive, the
// format the kernel unpacks into its initial root file system. Parent
// directories are created as needed; entries are written in path order with
// zero timestamps and owner root, so the archive depends on its input only.
func WriteInitramfs(w io.Writer, files []File) error {
	entries := map[string]File{}
	for _, f := range files {
		p := strings.Trim(path.Clean("/"+f.Path), "/")
		if p == "" {
			return fmt.Errorf("initramfs: empty path")
		}
		f.Path = p
		entries[p] = f
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = File{Path: d, Mode: fs.ModeDir | 0o755}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &cpioWriter{w: bw}
	for i, n := range names {
		if err := cw.entry(uint32(i+1), entries[n]); err != nil {
			return err
		}
	}
	if err := cw.header("TRAILER!!!", 0, 0, 0, 1); err != nil {
		return err
	}
	if err := cw.pad(); err != nil {
		return err
	}
	return bw.Flush()
}

type cpioWriter struct {
	w   io.Writer
	off int64
}

const (
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFLNK = 0o120000
)

func (c *cpioWriter) entry(ino uint32, f File) error {
	perm := uint32(f.Mode.Perm())
	switch {
	case f.Mode&fs.ModeDir != 0:
		if err := c.header(f.Path, ino, sIFDIR|perm, 0, 2); err != nil {
			return err
		}
		return c.pad()
	case f.Mode&fs.ModeSymlink != 0:
		return c.data(f.Path, ino, sIFLNK|0o777, f.Data)
	}
	data := f.Data
	if f.Src != "" {
		b, err := os.ReadFile(f.Src)
		if err != nil {
			return fmt.Errorf("initramfs %s: %w", f.Path, err)
		}
		data = b
	}
	return c.data(f.Path, ino, sIFREG|perm, data)
}

func (c *cpioWriter) data(name string, ino, mode uint32, data []byte) error {
	if err := c.header(name, ino, mode, uint32(len(data)), 1); err != nil {
		return err
	}
	if err := c.write(data); err != nil {
		return err
	}
	return c.pad()
}

// header writes a newc header and the NUL-terminated, padded name.
func (c *cpioWriter) header(name string, ino, mode, size, nlink uint32) error {
	h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	if err := c.write([]byte(h + name + "\x00")); err != nil {
		return err
	}
	return c.pad()
}

func (c *cpioWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	c.off += int64(n)
	return err
}

// pad aligns the stream to 4 bytes.
func (c *cpioWriter) pad() error {
	if r := c.off % 4; r != 0 {
		return c.write(make([]byte, 4-r))
	}
	return nil
}
