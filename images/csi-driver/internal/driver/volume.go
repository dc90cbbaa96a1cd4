// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package driver

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"

	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/atomicwriter"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/state"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

const (
	reasonTampered   = "tampered"
	reasonVolumeFull = "volume_full"
)

// VolumeLimits are the size= and nr_inodes= of each volume's tmpfs.
// Zero means no limit (the tests' fake mounts).
type VolumeLimits struct {
	Bytes, Inodes int64
	// Setting names where they are set, for messages.
	BytesSetting, InodesSetting string
}

// write writes files and turns the writer's refusals into what kubelet
// and the user see.
func (n *Node) write(w atomicwriter.Writer, pr publishRequest, files []atomicwriter.File) error {
	if err := n.fits(pr, files); err != nil {
		return err
	}
	err := w.Write(files)
	var tampered *atomicwriter.TamperError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tampered):
		return n.tampered(pr, tampered)
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT):
		// The check above counts as tmpfs does; this is the backstop.
		return fail(codes.ResourceExhausted, reasonVolumeFull, "%s: the files do not fit in the volume: its size limit "+
			"(module settings %s, %s) was reached; the previous files are kept", pr.source, n.cfg.Limits.BytesSetting, n.cfg.Limits.InodesSetting)
	default:
		return internal("write", "%s: %v", pr.source, err)
	}
}

// fits refuses files that would not fit twice in the volume: a rotation
// holds the old and the new files at once, so a volume that fits only
// once would mount and then fail every rotation.
func (n *Node) fits(pr publishRequest, files []atomicwriter.File) error {
	l := n.cfg.Limits
	bytes, inodes := atomicwriter.Footprint(files, int64(os.Getpagesize()))
	if l.Bytes > 0 && 2*bytes > l.Bytes {
		return fail(codes.ResourceExhausted, reasonVolumeFull, "%s: the files take %s in memory, more than half the volume "+
			"size limit of %s (module setting %s; a rotation holds two copies); the previous files are kept",
			pr.source, humanBytes(bytes), humanBytes(l.Bytes), l.BytesSetting)
	}
	if l.Inodes > 0 && 2*inodes > l.Inodes {
		return fail(codes.ResourceExhausted, reasonVolumeFull, "%s: the files, folders and links take %d inodes, more than half "+
			"the volume limit of %d (module setting %s; a rotation holds two copies); the previous files are kept",
			pr.source, inodes, l.Inodes, l.InodesSetting)
	}
	return nil
}

func humanBytes(b int64) string {
	switch {
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%d KiB", b>>10)
	default:
		return fmt.Sprintf("%d B", b)
	}
}

// tampered reports a volume that holds what the driver did not write: a
// log line, the metric and an error; nothing of it was followed.
func (n *Node) tampered(pr publishRequest, te *atomicwriter.TamperError) error {
	n.cfg.Metrics.VolumeTampering.Inc()
	n.cfg.Log.Error("volume changed by someone other than the driver; not following it, the volume keeps its files and is not rotated again",
		"volume_id", pr.volumeID, "target", pr.target, "import", pr.source,
		"pod", pr.volumeContext[params.PodNamespace]+"/"+pr.volumeContext[params.PodName],
		"path", te.Path, "found", te.Found, "want", te.Want)
	return fail(codes.FailedPrecondition, reasonTampered, "%s: %v; the volume keeps its current files and is not rotated again: recreate the pod",
		pr.source, te)
}

// markTampered records in the volume's state that it was tampered with,
// so later publishes refuse at once instead of fetching secrets into it.
func (n *Node) markTampered(pr publishRequest, prev *state.Volume, err error) {
	v := n.volumeState(pr, nil)
	if prev != nil {
		v.LastFetch, v.ObjectVersions = prev.LastFetch, prev.ObjectVersions
	}
	v.Tampered = err.Error()
	if serr := state.Save(v); serr != nil {
		n.cfg.Log.Error("record tampering in the volume state", "target", pr.target, "error", serr.Error())
	}
}
